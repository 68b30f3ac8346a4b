"""Google's rich error details (`google/rpc/error_details.proto`) for a problem, as plain data, and back.

Google's error model (AIP-193) carries an error as a `google.rpc.Status`: a
code, a message and typed details. gRPC sends it as protobuf in the
`grpc-status-details-bin` trailer, Google's HTTP APIs as JSON
(`{"error": {"code", "message", "status", "details"}}`). Both say the same
details, so both transports read and write a problem's through `ErrorDetails`
here, with nothing of protobuf imported. DESIGN.md "gRPC (pinned)" pins what a
problem says in them:

- `ErrorInfo{reason: UPPER_SNAKE(slug), domain, metadata}`, every member in
  `metadata` as a string (str as is, int and float in decimal, bool
  `true`/`false`, datetime RFC 3339, anything else compact JSON);
- `Help{links: [{description: title, url: type}]}`;
- `RequestInfo{request_id}`; `RetryInfo{retry_delay}` when the problem carries
  a retry delay;
- `BadRequest{field_violations}` from the `errors` items (pointer `#/a/b/0/c` ->
  field `a.b[0].c`, `detail` -> description, `code` -> reason).

The way back (`problem_members`) gives the members of a problem+json document,
which the JSON decoder then makes the typed problem of, as it does any body.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import msgspec

from problemdetails._grammar import MAX_DELAY_SECONDS, delay_seconds, json_pointer
from problemdetails._grpc_codes import reason
from problemdetails._member_types import EnumOf, ListOf, MemberType, Nullable, Scalar
from problemdetails._problem import Problem
from problemdetails._spec import STANDARD_MEMBERS
from problemdetails._status import status_phrase

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog

__all__ = [
    "ErrorDetails",
    "Violation",
    "details_from_json",
    "details_json",
    "details_of",
    "domain_of_type",
    "field_path",
    "metadata_text",
    "metadata_value",
    "problem_members",
    "slug_of",
]

_STANDARD = frozenset(STANDARD_MEMBERS)
_TYPE_URL = "type.googleapis.com/google.rpc."
_ERRORS = ListOf(Scalar("error"))
# Scalars that travel as their own text in metadata; every other type is its compact JSON.
_TEXT_SCALARS = frozenset({"str", "uri", "datetime"})
# google/protobuf/duration.proto's JSON form: seconds, up to nine fractional digits, then "s".
_DURATION = re.compile(r"(-?)([0-9]{1,12})(?:\.([0-9]{1,9}))?s")
# A BadRequest field path (error_details.proto): `email_addresses[2].type[1]`.
_FIELD_PART = re.compile(r"\[([0-9]+)\]|\.?([^.\[\]]+)")


class Violation(msgspec.Struct, frozen=True):
    """One `BadRequest.FieldViolation`: the field's path, why it is bad, the rule's code."""

    field: str
    description: str
    reason: str = ""


class ErrorDetails(msgspec.Struct, frozen=True, kw_only=True):
    """The details of a `google.rpc.Status`, each at most once, as plain data."""

    reason: str = ""  # ErrorInfo (no ErrorInfo: empty)
    domain: str = ""
    metadata: dict[str, str] = {}
    links: tuple[tuple[str, str], ...] = ()  # Help: (description, url) each
    request_id: str | None = None  # RequestInfo
    retry_delay: float | None = None  # RetryInfo, in seconds
    violations: tuple[Violation, ...] = ()  # BadRequest


def metadata_text(value: Any) -> str:
    """A member's value as `ErrorInfo.metadata` says it: str as is, anything else compact JSON.

    JSON writes int and float in decimal and bool as `true`/`false`, and
    `to_builtins` a datetime as its RFC 3339 text, so one rule covers DESIGN.md's.
    """
    value = msgspec.to_builtins(value)
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def metadata_value(member_type: MemberType, text: str) -> Any:
    """The JSON value a metadata string stands for, for a member of `member_type` (`metadata_text` undone).

    A text that is not its type's comes back as it is: decoding then ignores
    the member, as RFC 9457 §3.1 says of a member of the wrong type.
    """
    inner = member_type.inner if isinstance(member_type, Nullable) else member_type
    if isinstance(inner, EnumOf) or (isinstance(inner, Scalar) and inner.name in _TEXT_SCALARS):
        return text
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return text


def slug_of(reason: str) -> str:
    """The slug an `ErrorInfo.reason` names: `QUOTA_EXCEEDED` -> `quota-exceeded` (`reason` undone)."""
    return reason.lower().replace("_", "-")


def field_path(pointer: str) -> str:
    """A JSON Pointer in URI-fragment form as a BadRequest field path: `#/a/b/0/c` -> `a.b[0].c`."""
    path = ""
    for segment in pointer.removeprefix("#").split("/")[1:]:
        name = unquote(segment).replace("~1", "/").replace("~0", "~")
        path += f"[{name}]" if name.isascii() and name.isdigit() else f".{name}" if path else name
    return path


def _pointer(field: str) -> str:
    """A BadRequest field path as a JSON Pointer in URI-fragment form: `a.b[0].c` -> `#/a/b/0/c`."""
    return json_pointer(index or name for index, name in _FIELD_PART.findall(field))


def details_of(problem: Problem, domain: str) -> ErrorDetails:
    """What a problem says in a Status's details, ErrorInfo's `domain` given (the catalog's)."""
    members = {name: value for name, value in problem.to_dict().items() if name not in _STANDARD}
    violations = tuple(
        Violation(_field_of(item), item["detail"], item.get("code") or "")
        for item in members.get("errors") or ()
        if isinstance(item, dict) and isinstance(item.get("detail"), str)
    )
    return ErrorDetails(
        reason=reason(problem.code) if problem.code else "",
        domain=domain,
        metadata={name: metadata_text(value) for name, value in members.items()},
        links=((problem.title, problem.type),) if problem.type != "about:blank" else (),
        request_id=problem.request_id,
        retry_delay=_retry_delay(problem),
        violations=violations,
    )


def _field_of(item: dict[str, Any]) -> str:
    pointer, parameter = item.get("pointer"), item.get("parameter")
    if isinstance(pointer, str):
        return field_path(pointer)
    return parameter if isinstance(parameter, str) else ""


def _retry_delay(problem: Problem) -> float | None:
    """The seconds a problem asks the client to wait: what its `Retry-After` says, as the responder sends it."""
    for name, value in problem.headers.items():
        if name.lower() == "retry-after" and (seconds := delay_seconds(value)) is not None:
            return float(seconds)
    seconds = problem.members.get("retry_after")
    declared = problem.spec is not None and "retry-after" in map(str.lower, problem.spec.headers)
    if declared and isinstance(seconds, int) and not isinstance(seconds, bool):
        return float(min(max(0, seconds), MAX_DELAY_SECONDS))
    return None


def problem_members(status: int, message: str, details: ErrorDetails, catalog: Catalog | None) -> dict[str, Any]:
    """The problem+json members a Status's message and details say, `status` (what the code stands for) given.

    The class is the catalog's slug for `ErrorInfo.reason` only when its domain
    is the catalog's: a reason is unique within its domain only (AIP-193), so
    another domain's (or any, without a catalog) is an uncatalogued problem,
    with the reason as sent as its `code` and its `Help` link as `type` and
    `title`, unless that link is one of the catalog's type URIs. Members come
    back to their catalog types from their metadata strings; `errors` from its
    metadata, else from `BadRequest`; `detail` from the message unless it is
    the title (a Status always has a message; a problem without a detail sends
    its title). The catalog's class brings its own `status`: over HTTP, the
    response's wins.
    """
    ours = catalog is not None and details.reason != "" and details.domain == catalog.domain
    cls = catalog.by_code(slug_of(details.reason)) if ours and catalog is not None else None
    if cls is None and catalog is not None and details.links:
        # RFC 9457 §3.1.1: the type URI identifies the problem type, whoever sends it (`decode` reads it so).
        cls = catalog.by_type(details.links[0][1])
    members: dict[str, Any] = {}
    if cls is not None:
        types = {member.name: member.type for member in cls.__problemdetails__.members}
        members["code"], members["status"], title = cls.code, cls.status, cls.title
    else:
        types, title = {}, status_phrase(status)
        if details.reason:
            members["code"] = details.reason  # as sent: another domain's reason is no slug of the catalog
        if details.links:
            title, members["type"] = details.links[0]
            members["title"] = title
    for name, text in details.metadata.items():
        if name not in _STANDARD:
            # `errors` is a validation problem's items wherever it stands (DESIGN.md's wire format).
            member_type = types.get(name) or (_ERRORS if name == "errors" else None)
            members[name] = metadata_value(member_type, text) if member_type is not None else text
    if "errors" not in details.metadata and details.violations:
        members["errors"] = [_item(violation) for violation in details.violations]
    if details.request_id:
        members["request_id"] = details.request_id
    if message and message != title:
        members["detail"] = message
    return members


def _item(violation: Violation) -> dict[str, Any]:
    item: dict[str, Any] = {"detail": violation.description}
    if violation.field:
        item["pointer"] = _pointer(violation.field)
    if violation.reason:
        item["code"] = violation.reason
    return item


# -- the JSON form (proto3's JSON mapping, as Google's HTTP APIs send it) -----------------


def details_json(details: ErrorDetails) -> list[dict[str, Any]]:
    """The `details` array of Google's JSON error: each detail with its `@type`, in DESIGN.md's order."""
    found: list[dict[str, Any]] = []
    if details.reason:
        info = {"reason": details.reason, "domain": details.domain, "metadata": details.metadata}
        found.append({"@type": _TYPE_URL + "ErrorInfo", **info})
    if details.links:
        links = [{"description": description, "url": url} for description, url in details.links]
        found.append({"@type": _TYPE_URL + "Help", "links": links})
    if details.request_id is not None:
        found.append({"@type": _TYPE_URL + "RequestInfo", "requestId": details.request_id})
    if details.retry_delay is not None:
        found.append({"@type": _TYPE_URL + "RetryInfo", "retryDelay": _duration(details.retry_delay)})
    if details.violations:
        violations = [
            {"field": v.field, "description": v.description, **({"reason": v.reason} if v.reason else {})}
            for v in details.violations
        ]
        found.append({"@type": _TYPE_URL + "BadRequest", "fieldViolations": violations})
    return found


def _duration(seconds: float) -> str:
    whole, fraction = divmod(round(seconds * 1_000_000_000), 1_000_000_000)
    return f"{whole}.{fraction:09d}".rstrip("0").rstrip(".") + "s"


def details_from_json(items: list[Any]) -> ErrorDetails:
    """The details a JSON `details` array holds: the first of each known type; anything else is skipped.

    Field names are read in either of proto3's JSON spellings (`requestId`,
    `request_id`), as its parsers must; a value of the wrong type is ignored.
    """
    values: dict[str, Any] = {}
    for item in items:
        kind = item.get("@type") if isinstance(item, dict) else None
        if not isinstance(kind, str) or "/" not in kind:
            continue
        name = kind.rpartition("/")[2].removeprefix("google.rpc.")
        if name == "ErrorInfo" and "reason" not in values:
            metadata = item.get("metadata")
            values["reason"], values["domain"] = _text(item, "reason"), _text(item, "domain")
            if isinstance(metadata, dict):
                values["metadata"] = {k: v for k, v in metadata.items() if isinstance(k, str) and isinstance(v, str)}
        elif name == "Help" and "links" not in values:
            links = item.get("links")
            values["links"] = tuple(
                (_text(link, "description"), _text(link, "url"))
                for link in (links if isinstance(links, list) else ())
                if isinstance(link, dict)
            )
        elif name == "RequestInfo" and "request_id" not in values:
            values["request_id"] = _text(item, "requestId", "request_id") or None
        elif name == "RetryInfo" and "retry_delay" not in values:
            values["retry_delay"] = _seconds(item.get("retryDelay", item.get("retry_delay")))
        elif name == "BadRequest" and "violations" not in values:
            found = item.get("fieldViolations", item.get("field_violations"))
            values["violations"] = tuple(
                Violation(_text(v, "field"), _text(v, "description"), _text(v, "reason"))
                for v in (found if isinstance(found, list) else ())
                if isinstance(v, dict)
            )
    return ErrorDetails(**values)


def _text(item: dict[str, Any], *names: str) -> str:
    for name in names:
        value = item.get(name)
        if isinstance(value, str):
            return value
    return ""


def _seconds(value: Any) -> float | None:
    """A protobuf Duration's JSON text (`"12.5s"`) in seconds, never negative; None if it is none."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    seconds = int(whole) + int((fraction or "0").ljust(9, "0")) / 1_000_000_000
    return 0.0 if sign else min(seconds, float(MAX_DELAY_SECONDS))


def domain_of_type(type_uri: str) -> str:
    """The host of a problem's type URI: its catalog's domain when the header names none."""
    try:
        return urlsplit(type_uri).hostname or ""
    except ValueError:  # `//[abc]`: an authority that is no host
        return ""
