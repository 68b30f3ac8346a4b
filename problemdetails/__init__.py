"""RFC 9457 problem details for HTTP APIs, from one YAML error catalog."""

from typing import TYPE_CHECKING, Any

from problemdetails._catalog import Catalog
from problemdetails._context import RequestContextFilter, current_request_id, current_trace_id
from problemdetails._exceptions import CatalogError, DecodeError, Finding, ProblemDetailsError
from problemdetails._member_types import ErrorItem
from problemdetails._openapi import add_problem_components, document_problems, problem_responses
from problemdetails._problem import Problem
from problemdetails._profiles import DetailProfile, EnvelopeProfile, GoogleProfile, WireProfile
from problemdetails._spec import CatalogInfo, Deprecation, Example, MemberSpec, ProblemSpec
from problemdetails._status import status_phrase
from problemdetails._wire import JSON_MEDIA_TYPE, decode_json, encode_json
from problemdetails._xml import XML_MEDIA_TYPE, XML_NAMESPACE, decode_xml, encode_xml

if TYPE_CHECKING:
    from problemdetails._asgi import ProblemMiddleware
    from problemdetails._handovers.drf import drf_exception_handler
    from problemdetails._handovers.litestar import litestar_exception_handlers
    from problemdetails._handovers.starlette import starlette_exception_handlers
    from problemdetails._install import install
    from problemdetails._request import Request
    from problemdetails._responder import Responder
    from problemdetails._wsgi import WSGIProblemMiddleware

__version__ = "0.1.0"

# The server side, imported on first use: `problemdetails.client` (and code that
# only loads a catalog) must not pay for starlette, jinja2 and markdown-it.
_SERVER_SIDE = {
    "ProblemMiddleware": "problemdetails._asgi",
    "WSGIProblemMiddleware": "problemdetails._wsgi",
    "drf_exception_handler": "problemdetails._handovers.drf",
    "install": "problemdetails._install",
    "Request": "problemdetails._request",
    "Responder": "problemdetails._responder",
    "litestar_exception_handlers": "problemdetails._handovers.litestar",
    "starlette_exception_handlers": "problemdetails._handovers.starlette",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _SERVER_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module 'problemdetails' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
    "GoogleProfile",
    "MemberSpec",
    "Problem",
    "ProblemDetailsError",
    "ProblemMiddleware",
    "ProblemSpec",
    "Request",
    "RequestContextFilter",
    "Responder",
    "WSGIProblemMiddleware",
    "WireProfile",
    "__version__",
    "add_problem_components",
    "current_request_id",
    "current_trace_id",
    "decode_json",
    "decode_xml",
    "document_problems",
    "drf_exception_handler",
    "encode_json",
    "encode_xml",
    "install",
    "litestar_exception_handlers",
    "problem_responses",
    "starlette_exception_handlers",
    "status_phrase",
]
