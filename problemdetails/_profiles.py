"""Wire profiles: an API's legacy error shape, rendered from the same catalog.

An API that already answers `{"detail": ...}`, `{"code", "message",
"details"}` or Google's `{"error": {...}}` cannot switch every client to
RFC 9457 at once. With a profile,
`ProblemMiddleware(..., profile=EnvelopeProfile())` keeps answering the old
shape to clients that don't ask for anything better, and RFC 9457 to clients
that send `Accept: application/problem+json` (or `+xml`): the API migrates
one client at a time. The client side reads the same shapes back:
`decode(response, catalog=..., profile=EnvelopeProfile())`.

A profile is two functions over plain data, so writing one for your own
format is a few lines:

- `render(problem)`: the JSON document to send for a problem (an occurrence:
  `problem.request_id` and `problem.instance` are set);
- `read(status, document, catalog)`: the RFC 9457 members a legacy document
  carries (`detail`, `code`, extension members...), or None when it is not
  one of yours.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, ClassVar
from urllib.parse import unquote

import msgspec

from problemdetails._catalog import Catalog
from problemdetails._error_details import details_from_json, details_json, details_of, domain_of_type, problem_members
from problemdetails._grammar import json_pointer
from problemdetails._grpc_codes import CODES, code_of
from problemdetails._problem import Problem
from problemdetails._spec import STANDARD_MEMBERS
from problemdetails._wire import scrub_surrogates

_STANDARD = frozenset(STANDARD_MEMBERS)

__all__ = ["DetailProfile", "EnvelopeProfile", "GoogleProfile", "WireProfile"]


class WireProfile:
    """Base class of wire profiles; see the module docstring."""

    media_type: ClassVar[str] = "application/json"

    def render(self, problem: Problem) -> Any:
        """The legacy document for `problem`, as JSON-able data."""
        raise NotImplementedError

    def read(self, status: int, document: Any, catalog: Catalog | None) -> dict[str, Any] | None:
        """The RFC 9457 members a legacy `document` carries, or None if it is not this profile's shape."""
        raise NotImplementedError

    def encode(self, problem: Problem) -> bytes:
        document = self.render(problem)
        try:
            return msgspec.json.encode(document)
        except UnicodeEncodeError:  # a lone surrogate in some text: U+FFFD, as problem+json sends it
            return msgspec.json.encode(scrub_surrogates(document))


def _text(problem: Problem) -> str:
    return problem.detail if problem.detail is not None else problem.title


class DetailProfile(WireProfile):
    """FastAPI's `{"detail": ...}`, as ScaiDNS and ScaiDrive answer.

    - a validation problem (an `errors` list) gives FastAPI's array:
      `{"detail": [{"loc": ["body", "name"], "msg": "...", "type": "..."}]}`;
    - a problem with other members, when `objects=True` (the default), gives an
      object: `{"detail": {"message": "...", "field": "name", "conflicts": [...]}}`;
      `objects=("field", "conflicts")` puts only those members there (members
      that only fill a `detail` template stay out of the legacy body);
    - anything else gives the string: `{"detail": "Zone not found"}`.

    `code` is not part of this shape; clients that need it ask for
    `application/problem+json`.
    """

    def __init__(self, *, objects: bool | Collection[str] = True) -> None:
        self.objects = objects

    def render(self, problem: Problem) -> Any:
        members = problem.to_dict()
        errors = members.get("errors")
        if isinstance(errors, list) and all(isinstance(item, dict) and "detail" in item for item in errors):
            return {"detail": [_fastapi_item(item) for item in errors]}
        extra = {name: value for name, value in members.items() if name not in _STANDARD}
        if not isinstance(self.objects, bool):
            extra = {name: value for name, value in extra.items() if name in self.objects}
        if self.objects and extra:
            return {"detail": {"message": _text(problem), **extra}}
        return {"detail": _text(problem)}

    def read(self, status: int, document: Any, catalog: Catalog | None) -> dict[str, Any] | None:
        if not (isinstance(document, dict) and "detail" in document):
            return None
        detail = document["detail"]
        if isinstance(detail, str):
            return {"detail": detail}
        if isinstance(detail, dict):
            members = {name: value for name, value in detail.items() if name != "message"}
            message = detail.get("message")
            return {**members, "detail": message} if isinstance(message, str) else members
        if isinstance(detail, list):
            return {"errors": [_error_item(item) for item in detail if isinstance(item, dict)]}
        return None


def upper_snake(slug: str) -> str:
    """`quota-exceeded` -> `QUOTA_EXCEEDED`."""
    return slug.upper().replace("-", "_")


class EnvelopeProfile(WireProfile):
    """The `{"code", "message", "details", "request_id"}` envelope, as CaptainDNS answers.

    `code` is the slug in UPPER_SNAKE (`QUOTA_EXCEEDED`) unless you pass your
    own `code=` function; `details` holds the extension members (left out
    when there are none); `message` is the detail, else the title.
    """

    def __init__(self, *, code: Callable[[str], str] = upper_snake) -> None:
        self.code = code

    def render(self, problem: Problem) -> Any:
        members = problem.to_dict()
        document: dict[str, Any] = {
            "code": self.code(problem.code) if problem.code else str(problem.status),
            "message": _text(problem),
        }
        details = {name: value for name, value in members.items() if name not in _STANDARD}
        if details:
            document["details"] = details
        if problem.request_id is not None:
            document["request_id"] = problem.request_id
        return document

    def read(self, status: int, document: Any, catalog: Catalog | None) -> dict[str, Any] | None:
        if not (isinstance(document, dict) and isinstance(document.get("code"), str)):
            return None
        result: dict[str, Any] = {}
        details = document.get("details")
        if isinstance(details, dict):
            result.update(details)
        slugs = {self.code(slug): slug for slug in catalog} if catalog is not None else {}
        result["code"] = slugs.get(document["code"], document["code"].lower().replace("_", "-"))
        for source, target in (("message", "detail"), ("request_id", "request_id")):
            if isinstance(document.get(source), str):
                result[target] = document[source]
        return result


class GoogleProfile(WireProfile):
    """Google's JSON error (AIP-193), as Google's HTTP APIs answer: the same `google.rpc.Status` gRPC sends.

    ```json
    {"error": {"code": 429, "message": "Rate limit exceeded; retry after 12 seconds.",
               "status": "RESOURCE_EXHAUSTED",
               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMITED",
                            "domain": "errors.example.com", "metadata": {"retry_after": "12"}}, ...]}}
    ```

    `code` is the HTTP status, `status` the problem's `google.rpc.Code` name
    (its catalog's `grpc:`, else its status's), `message` its detail, else its
    title; `details` are those the gRPC interceptors send (see the guide's gRPC
    chapter): ErrorInfo (the slug in UPPER_SNAKE, every member as a string),
    Help (title and type), RequestInfo, RetryInfo and BadRequest, in proto3's
    JSON form. `domain` is ErrorInfo's: give `catalog.domain` when the
    catalog's header names one (by default, the host of each problem's `type`,
    which is the catalog's domain otherwise). Clients read it back with
    `decode(response, catalog=..., profile=GoogleProfile())`, members in their
    catalog types again.
    """

    def __init__(self, *, domain: str | None = None) -> None:
        self.domain = domain

    def render(self, problem: Problem) -> Any:
        code = code_of(problem)
        details = details_of(problem, self.domain if self.domain is not None else domain_of_type(problem.type))
        error = {"code": problem.status, "message": _text(problem), "status": code, "details": details_json(details)}
        return {"error": error}

    def read(self, status: int, document: Any, catalog: Catalog | None) -> dict[str, Any] | None:
        error = document.get("error") if isinstance(document, dict) else None
        if not (isinstance(error, dict) and (isinstance(error.get("message"), str) or error.get("status") in CODES)):
            return None
        message, items = error.get("message"), error.get("details")
        details = details_from_json(items if isinstance(items, list) else [])
        if catalog is not None and self.domain is not None and details.domain == self.domain:
            details = msgspec.structs.replace(details, domain=catalog.domain)  # the domain this profile was given
        # The HTTP status is authoritative (RFC 9457 §3.1.2); `status` and `code` only repeat it.
        return problem_members(status, message if isinstance(message, str) else "", details, catalog)


def _fastapi_item(item: dict[str, Any]) -> dict[str, Any]:
    """An `error` item as FastAPI's validation item: `loc`, `msg`, `type`."""
    if "pointer" in item:  # RFC 6901 in URI-fragment form: "#/profile/color"
        parts = item["pointer"].removeprefix("#").split("/")[1:]
        location: list[str] = ["body", *(unquote(part).replace("~1", "/").replace("~0", "~") for part in parts)]
    else:
        location = [item.get("in", "body"), *([item["parameter"]] if "parameter" in item else [])]
    # No `ctx`: the example APIs document FastAPI's array without it, and old clients read it so.
    return {"loc": location, "msg": item["detail"], "type": item.get("code", "value_error")}


def _error_item(item: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's validation item back as an `error` item."""
    location = [str(part) for part in item.get("loc", []) if isinstance(part, (str, int))]
    result: dict[str, Any] = {"detail": item["msg"] if isinstance(item.get("msg"), str) else ""}
    if location[:1] == ["body"]:
        result["pointer"] = json_pointer(location[1:])
    elif len(location) >= 2 and location[0] in ("query", "path", "header", "cookie"):
        result["parameter"], result["in"] = location[1], location[0]
    if isinstance(item.get("type"), str):
        result["code"] = item["type"]
    context = item.get("ctx")
    if isinstance(context, dict):  # pydantic's parameters of the rule; the JSON scalars among them are `params`
        params = {name: value for name, value in context.items() if isinstance(value, (str, bool, float, int))}
        if params:
            result["params"] = params
    return result
