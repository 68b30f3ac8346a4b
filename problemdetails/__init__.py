"""RFC 9457 problem details for HTTP APIs, from one YAML error catalog."""

from problemdetails._catalog import Catalog
from problemdetails._exceptions import CatalogError, DecodeError, Finding, ProblemDetailsError
from problemdetails._integrations import litestar_exception_handlers, starlette_exception_handlers
from problemdetails._member_types import ErrorItem
from problemdetails._middleware import ProblemMiddleware
from problemdetails._openapi import add_problem_components, document_problems, problem_responses
from problemdetails._problem import Problem
from problemdetails._profiles import DetailProfile, EnvelopeProfile, WireProfile
from problemdetails._spec import CatalogInfo, Deprecation, Example, MemberSpec, ProblemSpec
from problemdetails._status import status_phrase
from problemdetails._wire import (
    JSON_MEDIA_TYPE,
    XML_MEDIA_TYPE,
    XML_NAMESPACE,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
)

__version__ = "0.1.0"

__all__ = [
    "JSON_MEDIA_TYPE",
    "XML_MEDIA_TYPE",
    "XML_NAMESPACE",
    "Catalog",
    "CatalogError",
    "CatalogInfo",
    "DecodeError",
    "Deprecation",
    "DetailProfile",
    "EnvelopeProfile",
    "ErrorItem",
    "Example",
    "Finding",
    "MemberSpec",
    "Problem",
    "ProblemDetailsError",
    "ProblemMiddleware",
    "ProblemSpec",
    "WireProfile",
    "__version__",
    "add_problem_components",
    "decode_json",
    "decode_xml",
    "document_problems",
    "encode_json",
    "encode_xml",
    "litestar_exception_handlers",
    "problem_responses",
    "starlette_exception_handlers",
    "status_phrase",
]
