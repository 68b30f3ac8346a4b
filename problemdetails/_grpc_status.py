"""A problem as gRPC sends it: a `google.rpc.Status` with Google's rich error details (AIP-193).

    Status{code:    the problem's gRPC code (its catalog's `grpc:`, inherited, else its status's)
           message: its `detail`, else its title (what `grpc-message` carries too)
           details: ErrorInfo{reason: UPPER_SNAKE(slug), domain, metadata: every member as a string}
                    Help{links: [{description: title, url: type}]}
                    RequestInfo{request_id}
                    RetryInfo{retry_delay}                      when the problem carries a retry delay
                    BadRequest{field_violations}                from its `errors` items}

Each detail at most once. The messages are googleapis-common-protos' classes,
imported here: nothing imports this module until a gRPC call is answered.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import msgspec

from problemdetails._grpc_codes import CODES, code_of, reason, valid_reason
from problemdetails._member_types import ErrorItem
from problemdetails._problem import Problem
from problemdetails._wire import retry_after_field

try:
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2, status_pb2
except ImportError as _missing:
    raise ImportError(
        "answering gRPC calls needs googleapis-common-protos: pip install 'problemdetails[grpc]'"
    ) from _missing

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog

__all__ = ["field_path", "metadata_value", "retry_delay", "status_of"]

# AIP-193: "This should be at most 63 characters and match a regular expression of `[A-Z][A-Z0-9_]+[A-Z0-9]`".
_REASON = re.compile(r"[A-Z][A-Z0-9_]+[A-Z0-9]").fullmatch
_ENCODE = msgspec.json.Encoder()


def status_of(problem: Problem, catalog: Catalog, request_id: str | None) -> status_pb2.Status:
    """The `google.rpc.Status` for `problem`, answered by a service of `catalog`, in call `request_id`.

    Raises what building it raises (a member msgspec cannot encode): the
    responder answers such a problem with the catalog's 500 problem.
    """
    title = problem.title
    detail = problem.detail
    status = status_pb2.Status(code=CODES[code_of(problem)], message=detail if detail is not None else title)
    details = status.details
    info = _error_info(problem, catalog)
    if info is not None:
        details.add().Pack(info)
    if problem.type != "about:blank":
        link = error_details_pb2.Help.Link(description=title, url=problem.type)
        details.add().Pack(error_details_pb2.Help(links=[link]))
    if request_id is not None:
        details.add().Pack(error_details_pb2.RequestInfo(request_id=request_id))
    delay = retry_delay(problem)
    if delay is not None:
        details.add().Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=delay)))
    violations = [_violation(item) for item in _items(problem)]
    if violations:
        details.add().Pack(error_details_pb2.BadRequest(field_violations=violations))
    return status


def _error_info(problem: Problem, catalog: Catalog) -> error_details_pb2.ErrorInfo | None:
    """ErrorInfo: why (the slug as a reason), in whose words (the domain), with every member as a string.

    The domain is this catalog's for its own problems; a problem of another
    catalog (relayed on purpose) keeps its own type's host. A problem without
    a code, or one whose code is no valid reason, has no ErrorInfo.
    """
    code = problem.code
    if code is None or not valid_reason(code) or not _REASON(reason(code)):
        return None
    if code in catalog.problems and catalog.problems[code].type == problem.type:
        domain = catalog.domain
    else:
        domain = urlsplit(problem.type).hostname or ""
        if not domain:
            return None
    metadata = {name: metadata_value(value) for name, value in problem.members.items()}
    for name, value in problem.extensions.items():
        if value is not None and name not in metadata:
            metadata[name] = metadata_value(value)
    return error_details_pb2.ErrorInfo(reason=reason(code), domain=domain, metadata=metadata)


def metadata_value(value: object) -> str:
    """A member's value as ErrorInfo metadata: str as is, anything else compact JSON.

    JSON writes int and float in decimal and bool as `true`/`false`, and
    `to_builtins` a datetime as its RFC 3339 text: one rule covers DESIGN.md's.
    """
    value = msgspec.to_builtins(value)
    return value if isinstance(value, str) else _ENCODE.encode(value).decode()


def retry_delay(problem: Problem) -> int | None:
    """Whole seconds to wait before retrying, by the rule `Retry-After` follows on HTTP (`retry_after_field`).

    A date (the app's own `Retry-After: <IMF-fixdate>`) counts from now, never below zero.
    """
    given = next((value for name, value in problem.headers.items() if name.lower() == "retry-after"), None)
    field = retry_after_field(problem, given.encode("latin-1", "replace") if isinstance(given, str) else None)
    if field is None:
        return None
    if field.isdigit():
        return int(field)
    when = email.utils.parsedate_to_datetime(field.decode("latin-1"))
    return max(0, int((when - dt.datetime.now(dt.timezone.utc)).total_seconds()))


def _items(problem: Problem) -> Iterable[Any]:
    """The problem's validation items: its `list[error]` members, else its `errors` extension."""
    lists = problem.__problemdetails__.item_lists
    if lists:
        for attribute in lists:
            yield from getattr(problem._wire, attribute) or ()
    else:
        found = problem.extensions.get("errors")
        if isinstance(found, list):
            yield from found


def _violation(item: Any) -> error_details_pb2.BadRequest.FieldViolation:
    """An `errors` item as a field violation: pointer (else parameter) -> field, detail -> description, code -> reason.

    An item the app passed as a plain dict reads the same keys.
    """
    values: tuple[object, ...]
    if isinstance(item, ErrorItem):
        values = (item.pointer, item.parameter, item.detail, item.code)
    elif isinstance(item, dict):  # an `errors` extension, as the app passed it
        values = tuple(item.get(key) for key in ("pointer", "parameter", "detail", "code"))
    else:
        values = (None, None, str(item), None)
    pointer, parameter, detail, code = values
    field = field_path(pointer) if isinstance(pointer, str) else parameter if isinstance(parameter, str) else ""
    return error_details_pb2.BadRequest.FieldViolation(
        field=field,
        description=detail if isinstance(detail, str) else "",
        reason=code if isinstance(code, str) else "",
    )


def field_path(pointer: str) -> str:
    """A JSON Pointer in URI-fragment form as a BadRequest field path: `#/a/b/0/c` -> `a.b[0].c`.

    Names are joined with dots, array indexes in brackets (AIP-193's
    `book.authors[2].name`), each token with its escapes undone.
    """
    path = ""
    for segment in pointer.removeprefix("#").split("/")[1:] if pointer.startswith("#/") else ():
        token = unquote(segment).replace("~1", "/").replace("~0", "~")  # RFC 6901 §4, after §6's percent-decoding
        path += f"[{token}]" if token.isascii() and token.isdigit() else f".{token}" if path else token
    return path
