"""Framework errors as catalogued problems.

A framework error (a router 404 or 405, an `HTTPException`, a validation
failure) becomes the catalog's problem for that status (`catalog.status_slugs`:
the one the catalog names, else its one root problem with that status), else
`about:blank`. This module holds what every framework shares: the slug choice,
`detail` filtering, validation errors as `errors` items. Each framework's own
exception types are read by its hand-over (`_handovers/`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from problemdetails._member_types import ErrorItem, ListOf, Scalar
from problemdetails._problem import Problem
from problemdetails._status import status_phrase

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog

__all__ = [
    "client_detail",
    "error_items",
    "is_error_list",
    "json_pointer",
    "litestar_error_items",
    "problem_for_status",
    "validation_problem",
]

_LOCATIONS = {"query", "path", "header", "cookie"}


def problem_for_status(
    catalog: Catalog, status: int, detail: str | None = None, errors: list[ErrorItem] | None = None
) -> Problem:
    """The catalog's problem for a framework error of `status`, or `about:blank` when it has none."""
    slug = catalog.status_slugs.get(status)
    if slug is None:
        return Problem(detail, status=status, errors=errors) if errors else Problem(detail, status=status)
    cls = catalog[slug]
    members: dict[str, Any] = {}
    for member in cls.__members__:
        if is_error_list(member.type) and (errors is not None or member.required):
            members[member.attribute] = errors or []  # a required list of items is there, empty if need be
    # `status_slugs` names no slug with other required members.
    problem = cls(detail, **members)
    if errors and not members and "errors" not in cls.__attributes__:
        # Validation items are never lost: a problem that declares no `errors` member carries them as
        # the extension member RFC 9457 §3 itself shows ("errors" in its example), and `check` warns
        # that the catalog should declare it.
        problem.extensions = {"errors": errors}
    return problem


def is_error_list(member_type: object) -> bool:
    """The member holds validation items (`list[error]`), which a framework error can fill."""
    return isinstance(member_type, ListOf) and member_type.item == Scalar("error")


def client_detail(status: int, detail: object) -> str | None:
    """A framework's `detail` worth passing on: a 4xx message that is not just the status phrase.

    5xx details are never passed on: they are where internals leak (RFC 9457 §5).
    """
    if status >= 500 or not isinstance(detail, str) or not (stripped := detail.strip()):
        return None
    if stripped.lower() in _default_details(status):
        return None
    return detail[:1000]


@functools.lru_cache(maxsize=256)  # statuses are few; the bound is for odd ones
def _default_details(status: int) -> frozenset[str]:
    """The phrases a framework uses as the default detail for `status` (a router 404's is "Not Found")."""
    phrases = {status_phrase(status).lower()}
    if status in HTTPStatus._value2member_map_:  # Starlette's default detail, RFC 7231 wording included
        phrases.add(HTTPStatus(status).phrase.lower())
    return frozenset(phrases)


def json_pointer(path: Iterable[object]) -> str:
    """A JSON Pointer in URI-fragment form for a location path: `["profile", "color"]` -> `#/profile/color`."""
    # RFC 6901 §3 escapes, then §6's URI fragment form (as in RFC 9457 §3's example).
    segments = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return "#" + "".join("/" + quote(segment, safe="!$&'()*+,;=:@-._~") for segment in segments)


def error_items(errors: Iterable[Mapping[str, Any]]) -> list[ErrorItem]:
    """FastAPI / pydantic validation errors (`loc`, `msg`, `type`) as `errors` items.

    Body fields get a JSON Pointer (`#/profile/color`); query, path, header and
    cookie inputs get `parameter` and `in`.
    """
    items: list[ErrorItem] = []
    for error in errors:
        location = list(error.get("loc") or ())
        detail = str(error.get("msg") or "invalid")
        code = error.get("type")
        code = str(code) if code is not None else None
        if location and location[0] in _LOCATIONS and len(location) > 1:
            items.append(ErrorItem(detail=detail, parameter=str(location[1]), in_=location[0], code=code))
        else:
            path = location[1:] if location and location[0] == "body" else location
            items.append(ErrorItem(detail=detail, pointer=json_pointer(path), code=code))
    return items


def validation_problem(catalog: Catalog, errors: list[Mapping[str, Any]]) -> Problem:
    """The problem for FastAPI / pydantic validation errors: 422 with `errors` items, or 400 for a body that is no JSON.

    FastAPI reports a body it cannot parse as one `json_invalid` error at
    `("body", <character offset>)`; that offset is no JSON Pointer into a
    document that does not exist, and the catalog's 422 means "the body parsed".
    It is the 400 problem, with the parser's reason as `detail`.
    """
    for error in errors:
        if error.get("type") == "json_invalid":
            context = error.get("ctx")
            reason = context.get("error") if isinstance(context, Mapping) else None
            location = list(error.get("loc") or ())
            at = f" at character {location[1]}" if len(location) == 2 and isinstance(location[1], int) else ""
            detail = f"The request body is not valid JSON: {reason}{at}." if isinstance(reason, str) else None
            return problem_for_status(catalog, 400, detail and detail[:1000])
    return problem_for_status(catalog, 422, errors=error_items(errors))


def litestar_error_items(extra: object) -> list[ErrorItem] | None:
    """Litestar's validation `extra` (`message`, `key`, `source`) as `errors` items, if it has that shape."""
    if (
        not isinstance(extra, list)
        or not extra
        or not all(isinstance(item, dict) and "message" in item for item in extra)
    ):
        return None
    items: list[ErrorItem] = []
    for item in extra:
        key, source = item.get("key"), item.get("source")
        if source in _LOCATIONS and key is not None:
            items.append(ErrorItem(detail=str(item["message"]), parameter=str(key), in_=source))
        else:
            items.append(ErrorItem(detail=str(item["message"]), pointer=json_pointer(_msgspec_path(key))))
    return items


def _msgspec_path(key: object) -> list[str]:
    """The segments of a body location as Litestar reports it: msgspec's path (`$.profile.color`, `tags[1]`)."""
    if key is None:
        return []
    text = str(key)
    return re.findall(r"[^.\[\]]+", text.removeprefix("$.").removeprefix("$"))
