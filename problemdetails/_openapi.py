"""OpenAPI 3.1 components for a catalog: one schema and one reusable response per problem type.

Any OpenAPI 3.1 document can `$ref` them (`openapi.json#/components/responses/Conflict`).
OpenAPI 3.1 schemas are JSON Schema 2020-12, so the schemas are the very
objects `<slug>/schema.json` holds.
"""

from __future__ import annotations

from typing import Any

import msgspec

from problemdetails._catalog import Catalog
from problemdetails._problem import Problem
from problemdetails._schema import problem_schema
from problemdetails._wire import JSON_MEDIA_TYPE

__all__ = ["HEADER_MEANINGS", "openapi_document", "pretty_json", "problem_response"]

# Why a problem sets each well-known header, for the docs and OpenAPI.
HEADER_MEANINGS = {
    "allow": "The methods the resource supports (RFC 9110 §10.2.1).",
    "retry-after": "How long to wait before retrying: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).",
    "www-authenticate": "The authentication scheme and parameters to use (RFC 9110 §11.6.1).",
}
_REQUEST_ID = "The request's id: the client's valid X-Request-ID, else one generated for it."


def problem_response(cls: type[Problem], schema_ref: str) -> dict[str, Any]:
    """A reusable OpenAPI response for one problem type, with the catalog's examples."""
    spec = cls.spec
    assert spec is not None
    headers: dict[str, Any] = {"X-Request-ID": {"description": _REQUEST_ID, "schema": {"type": "string"}}}
    for name in spec.headers:
        meaning = HEADER_MEANINGS.get(name.lower(), "")
        headers[name] = {"description": meaning, "required": True, "schema": {"type": "string"}}
    media: dict[str, Any] = {"schema": {"$ref": schema_ref}}
    examples = [problem.to_dict() for problem in cls.examples()]
    if examples:
        media["examples"] = {f"{spec.slug}-{number}": {"value": body} for number, body in enumerate(examples, 1)}
    description = f"{spec.title}: {spec.summary}" if spec.summary else spec.title
    return {"description": description, "headers": headers, "content": {JSON_MEDIA_TYPE: media}}


def openapi_document(catalog: Catalog) -> dict[str, Any]:
    """An OpenAPI 3.1 document holding only components: `schemas` and `responses`, by class name."""
    components_schemas: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    for slug, spec in catalog.problems.items():
        components_schemas[spec.class_name] = problem_schema(spec)
        responses[spec.class_name] = problem_response(catalog[slug], f"#/components/schemas/{spec.class_name}")
    info: dict[str, Any] = {"title": catalog.name, "version": catalog.version or "0"}
    components = {"schemas": components_schemas, "responses": responses}
    return {"openapi": "3.1.0", "info": info, "paths": {}, "components": components}


def pretty_json(document: Any) -> bytes:
    """Indented, stable JSON for files people read and diff, with a final newline."""
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"
