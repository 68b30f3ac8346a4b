"""JSON Schema (draft 2020-12) for each problem type of a catalog.

One schema per slug: the RFC 9457 §3.1 members (as in the RFC's Appendix A
schema), the three this framework adds (`code`, `request_id`, `trace_id`) and the slug's
typed extension members. `type`, `status` and `code` are `const`, so a
schema also tells one problem type from another. Unknown members stay
allowed: RFC 9457 §3.1 "Problem type definitions MAY extend the problem
details object with additional members", and clients must ignore what they
don't know. The doc site ships these as `<slug>/schema.json`, and OpenAPI
components embed the same objects.
"""

from __future__ import annotations

from typing import Any

from problemdetails._grammar import REQUEST_ID_MAX_LENGTH, REQUEST_ID_PATTERN, TRACE_ID_PATTERN
from problemdetails._member_types import SCALARS, DictOf, EnumOf, ListOf, MemberType, Nullable, Scalar, must_be_present
from problemdetails._spec import ProblemSpec

__all__ = ["DIALECT", "member_schema", "problem_schema", "request_id_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def request_id_schema(description: str) -> dict[str, Any]:
    """A request id: what `ProblemMiddleware` echoes from `X-Request-ID` (else 32 hex digits it made)."""
    return {
        "type": "string",
        "pattern": REQUEST_ID_PATTERN,
        "maxLength": REQUEST_ID_MAX_LENGTH,
        "description": description,
    }


# W3C Trace Context's trace-id: what the middlewares put in `trace_id`.
TRACE_ID_SCHEMA = {
    "type": "string",
    "pattern": TRACE_ID_PATTERN,
    "description": "The W3C trace id of the failed request's trace, when the service traces.",
}


def member_schema(member_type: MemberType) -> dict[str, Any]:
    """The JSON Schema of one member type. `T | None` is just `T`: no member is ever sent as null."""
    if isinstance(member_type, Nullable):
        return member_schema(member_type.inner)
    if isinstance(member_type, ListOf):
        return {"type": "array", "items": member_schema(member_type.item)}
    if isinstance(member_type, DictOf):
        return {"type": "object", "additionalProperties": member_schema(member_type.value)}
    if isinstance(member_type, EnumOf):
        return {"type": "string", "enum": list(member_type.values)}
    assert isinstance(member_type, Scalar)
    return dict(SCALARS[member_type.name].json_schema)


def problem_schema(spec: ProblemSpec) -> dict[str, Any]:
    """The schema of a problem type's JSON body, without `$schema`/`$id` (the caller places it)."""
    properties: dict[str, Any] = {
        "type": {"const": spec.type, "description": "A URI reference that identifies the problem type."},
        "title": {"type": "string", "description": "A short, human-readable summary of the problem type."},
        "status": {"const": spec.status, "description": "The HTTP status code of this occurrence."},
        "detail": {"type": "string", "description": "An explanation specific to this occurrence."},
        "instance": {
            "type": "string",
            "format": "uri-reference",
            "description": "A URI reference that identifies this occurrence.",
        },
        "code": {"const": spec.slug, "description": "The problem's slug: what clients match on."},
        "request_id": request_id_schema("The request's id, as in the X-Request-ID header."),
        "trace_id": TRACE_ID_SCHEMA,
    }
    required = ["type", "title", "status", "code"]
    for member in spec.members:
        schema = member_schema(member.parsed)
        if member.description:
            schema["description"] = member.description
        properties[member.name] = schema
        if must_be_present(member.required, member.parsed):
            required.append(member.name)
    schema = {"title": spec.title, "type": "object", "properties": properties, "required": required}
    if spec.summary:
        schema["description"] = spec.summary
    if spec.deprecated is not None:
        schema["deprecated"] = True
    return schema
