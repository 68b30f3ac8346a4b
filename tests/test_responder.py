"""The responder as tables: (exception | rendered page | no answer, Accept, method) -> status, headers, body.

No ASGI or WSGI app runs here. Each row is one event a transport hands the
responder, the facts of the request, and the exact response: the status, the
set of header names and the values that matter, and the body parsed (JSON, XML,
or the JSON an HTML page embeds) against its members.

These tables are the safety net of the responder's redesign: every touch of
the current internals is in the adapter at the top (`make_responder`,
`respond`). When the responder's interface changes, only the adapter changes;
every row must still pass. A test marked `xfail(strict=True)` is a defect
found while writing these tables: it fails today, and becomes a plain test
when the defect is fixed.
"""

from __future__ import annotations

import gc
import gzip
import html
import json
import logging
import re
import sys
import weakref
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import falcon
import pytest
from fastapi.exceptions import RequestValidationError
from litestar.exceptions import ValidationException
from starlette.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed

from problemdetails import Catalog, DetailProfile, EnvelopeProfile, Problem
from problemdetails import Request as PublicRequest
from problemdetails import Responder as PublicResponder
from problemdetails._handovers import FRAMEWORKS  # internals: the adapter's alone
from problemdetails._request import request_of  # internals: the adapter's alone
from problemdetails._responder import Responder, is_problem  # internals: the adapter's alone
from problemdetails.client import decode
from tests.conftest import BUNDLED

if sys.version_info < (3, 11):  # pragma: no cover - anyio brings the backport on Python 3.10
    from exceptiongroup import ExceptionGroup

CATALOG = Catalog.load(BUNDLED)
PATH = "/v1/zones/abc/records"
REQUEST_ID = "01JDTESTREQUEST0000000000"


@dataclass(frozen=True)
class Page:
    """An error page the app rendered itself: what a transport holds back to replace."""

    status: int
    headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""


class NoAnswer:
    """The app returned without starting a response."""


NO_ANSWER = NoAnswer()
Event = Exception | Page | NoAnswer


@dataclass(frozen=True)
class Answer:
    """What goes on the wire: header names lowercase, in the order sent."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


# -- the adapter: the only code here that knows how the responder is driven today -----------------------


def make_responder(**options: Any) -> Responder:
    """A responder as both middlewares build it from their options (every framework's errors readable)."""
    return Responder(CATALOG, frameworks=FRAMEWORKS, **options)


def respond(
    responder: Responder,
    event: Event,
    *,
    method: str = "GET",
    accept: str = "",
    path: str = PATH,
    request_id: str = REQUEST_ID,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """The response for `event`, as a transport would send it (before HEAD empties the body, see below)."""
    request_headers = [(b"accept", accept.encode("latin-1"))] if accept else []
    request_headers += [(name.encode(), value.encode("latin-1")) for name, value in (headers or {}).items()]
    # The facts of the request; `native` stands for the ASGI scope an `instance=` function would get.
    native = {"type": "http", "method": method, "path": path, "headers": request_headers}
    request = request_of(native, request_id)  # as a middleware reads them
    if isinstance(event, Page):
        if is_problem(event.headers):
            # The transport asks this before handing a page over: a problem passes as it is.
            return _answer(event.status, event.headers, event.body)
        answer = responder.rendered(event.status, list(event.headers), event.body, request)
    elif isinstance(event, NoAnswer):
        answer = responder.unanswered(request)
    else:
        # The transport first reads an exception group as the one exception it stands for.
        answer = responder.raised(responder.unwrap(event), request)
    # HEAD: the responder answers with the GET body; the transport sends it empty
    # (`_asgi._send`, `_wsgi._Relay.answered`), keeping Content-Length.
    return _answer(*answer)


def _answer(status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> Answer:
    return Answer(status, [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in headers], body)


# -- the one assertion helper ----------------------------------------------------------------------------

JSON = "application/problem+json"
XML = "application/problem+xml"
HTML = "text/html; charset=utf-8"
ABSENT = object()  # an expected member that must not be sent
# The bundled catalog has translations: its problem responses say their language, and vary on the request's.
PINNED = {
    "content-type",
    "content-length",
    "cache-control",
    "x-content-type-options",
    "vary",
    "x-request-id",
    "content-language",
}


def check(
    answer: Answer,
    status: int,
    members: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
    *,
    media: str = JSON,
    path: str = PATH,
) -> None:
    """`answer` is exactly this problem response.

    `headers` are the headers beyond the pinned seven, with their values. The
    body has exactly the expected members: `members` (a value, a predicate,
    or ABSENT), and what every problem has (`status`, `request_id`, `instance`
    = the path, `type` and `title` = the catalog's for `code`).
    """
    headers = headers or {}
    names = [name for name, _ in answer.headers]
    assert len(names) == len(set(names)), f"a header sent twice: {names}"
    sent = dict(answer.headers)
    assert (answer.status, sorted(sent)) == (status, sorted(PINNED | set(headers)))
    assert sent["content-type"] == media
    assert sent["content-length"] == str(len(answer.body))
    assert (sent["cache-control"], sent["x-content-type-options"]) == ("no-store", "nosniff")
    assert (sent["vary"], sent["content-language"]) == ("Accept, Accept-Language", "en")
    assert sent["x-request-id"] == REQUEST_ID
    assert {name: sent[name] for name in headers} == dict(headers)

    body = _parsed(answer.body, sent["content-type"])
    expected: dict[str, object] = {"status": status, "request_id": REQUEST_ID, "instance": path}
    code = members.get("code")
    if isinstance(code, str):
        expected |= {"type": CATALOG[code].type, "title": CATALOG[code].title}
    expected |= members
    wanted = {name for name, value in expected.items() if value is not ABSENT}
    assert sorted(body) == sorted(wanted), f"members: {body}"
    for name in sorted(wanted):
        value = expected[name]
        if callable(value):
            assert value(body[name]), f"{name}: {body[name]!r}"
        else:
            assert body[name] == (_as_xml_text(value) if media == XML else value), name
    assert None not in body.values()  # DESIGN: no member is ever null


def _parsed(body: bytes, media: str) -> dict[str, Any]:
    """The members of a problem body: JSON, XML (values as text), or the JSON an HTML page embeds."""
    if media == XML:
        root = ET.fromstring(body)
        assert root.tag == "{urn:ietf:rfc:7807}problem"
        return {_local(child.tag): _xml_value(child) for child in root}
    if media == HTML:
        page = body.decode()
        found = re.search(r'<script type="application/problem\+json">(.*?)</script>', page, re.S)
        assert found is not None, "the page embeds no problem"
        members: dict[str, Any] = json.loads(found.group(1))
        assert f"<title>{members['status']} {html.escape(members['title'])}</title>" in page
        if "detail" in members:  # shown to the reader, escaped
            assert f"<p>{html.escape(members['detail'])}</p>" in page
        return members
    assert media == JSON, media
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_value(element: ET.Element) -> object:
    children = list(element)
    if not children:
        return element.text or ""
    if all(_local(child.tag) == "i" for child in children):
        return [_xml_value(child) for child in children]
    return {_local(child.tag): _xml_value(child) for child in children}


def _as_xml_text(value: object) -> object:
    """A member as problem+xml writes it: text, lists of `<i>` items, objects as elements."""
    if isinstance(value, list):
        return [_as_xml_text(item) for item in value]
    if isinstance(value, dict):
        return {name: _as_xml_text(item) for name, item in value.items()}
    return str(value)


@dataclass(frozen=True)
class Expected:
    """A row's answer: as `check` takes it."""

    status: int
    members: Mapping[str, object]
    headers: Mapping[str, str]
    media: str


def row(
    id: str,
    event: Event,
    status: int,
    members: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
    *,
    accept: str = "",
    media: str = JSON,
    **options: Any,
) -> Any:
    """One row of a table: the event, the Accept it comes with, the responder's options, and the answer expected."""
    return pytest.param(event, accept, options, Expected(status, members, headers or {}, media), id=id)


ROW = ("event", "accept", "options", "expected")


def check_row(event: Event, accept: str, options: dict[str, Any], expected: Expected) -> None:
    answer = respond(make_responder(**options), event, accept=accept)
    check(answer, expected.status, expected.members, expected.headers, media=expected.media)


# -- exceptions ------------------------------------------------------------------------------------------


class Mine(Exception):
    pass


class MineToo(Mine):
    pass


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ failed")


def failing(exc: Exception) -> Problem:
    raise Unprintable()


def debug_of(exception: str, message: str) -> Callable[[object], bool]:
    """The `debug` member names the exception and its message, and lists frames."""

    def matches(member: object) -> bool:
        return (
            isinstance(member, dict)
            and (member["exception"], member["message"]) == (exception, message)
            and isinstance(member["frames"], list)
        )

    return matches


def upstream(status: int, document: dict[str, object], headers: Mapping[str, str] | None = None) -> Problem:
    """A problem another service answered with, as `problemdetails.client` decodes it."""
    sent = {"content-type": JSON, **(headers or {})}
    return decode(status, sent, json.dumps(document).encode(), catalog=CATALOG)


NOT_FOUND_UPSTREAM = {
    "type": "https://errors.example.com/not-found",
    "title": "Not found",
    "status": 404,
    "code": "not-found",
    "detail": "zone 42 of tenant acme is not on db-7.internal",
    "instance": "/internal/zones/42",
    "request_id": "upstream-id",
}
INVALID_UPSTREAM = {
    "type": "https://errors.example.com/unprocessable",
    "title": "Unprocessable content",
    "status": 422,
    "code": "unprocessable",
    "detail": "1 field is invalid.",
    "request_id": "upstream-id",
    "errors": [{"detail": "must be positive", "pointer": "#/ttl"}],
}
BUSY_UPSTREAM = {"type": "https://errors.example.com/unavailable", "title": "Service unavailable", "status": 503}
INTERNAL = {"code": "internal", "detail": ABSENT}
A_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"
ITEM = {"loc": ("body", "profile", "color"), "msg": "Input should be 'red'", "type": "enum"}

EXCEPTIONS = [
    row(
        "catalogued-members",
        CATALOG["conflict"]("record name+type already exists in zone", conflicts=["a1b2"]),
        409,
        {"code": "conflict", "detail": "record name+type already exists in zone", "conflicts": ["a1b2"]},
    ),
    row(
        "catalogued-detail-template",
        CATALOG["quota-exceeded"](limit=5, current=5, resource="zones"),
        402,
        {"code": "quota-exceeded", "detail": "5 of 5 zones used", "limit": 5, "current": 5, "resource": "zones"},
    ),
    row("catalogued-bare", CATALOG["gone"](), 410, {"code": "gone", "detail": ABSENT}),
    row(
        "catalogued-instance-kept",
        CATALOG["gone"](instance="/v1/zones/old"),
        410,
        {"code": "gone", "instance": "/v1/zones/old"},
    ),
    row(
        "retry-after-from-member",
        CATALOG["rate-limited"](retry_after=12),
        429,
        {"code": "rate-limited", "detail": "Rate limit exceeded; retry after 12 seconds.", "retry_after": 12},
        {"retry-after": "12"},
    ),
    row(
        "retry-after-member-negative",
        CATALOG["unavailable"](retry_after=-5),
        503,
        {"code": "unavailable", "retry_after": -5},
        {"retry-after": "0"},
    ),
    row(
        "retry-after-header",
        CATALOG["unavailable"](headers={"Retry-After": "600"}),
        503,
        {"code": "unavailable"},
        {"retry-after": "600"},
    ),
    row(
        "retry-after-date",
        CATALOG["unavailable"](headers={"Retry-After": A_DATE}),
        503,
        {"code": "unavailable"},
        {"retry-after": A_DATE},
    ),
    row(
        "retry-after-not-a-delay", CATALOG["unavailable"](headers={"Retry-After": "soon"}), 503, {"code": "unavailable"}
    ),
    row(
        "401-default-challenge",
        CATALOG["unauthorized"]("The bearer token has expired."),
        401,
        {"code": "unauthorized", "detail": "The bearer token has expired."},
        {"www-authenticate": "Bearer"},
    ),
    row(
        "401-own-challenge",
        CATALOG["unauthorized"](headers={"WWW-Authenticate": 'Basic realm="api"'}),
        401,
        {"code": "unauthorized"},
        {"www-authenticate": 'Basic realm="api"'},
    ),
    row(
        "401-configured-challenge",
        CATALOG["unauthorized"](),
        401,
        {"code": "unauthorized"},
        {"www-authenticate": 'DPoP algs="ES256"'},
        www_authenticate='DPoP algs="ES256"',
    ),
    row(
        "405-allow",
        CATALOG["method-not-allowed"](allowed=["GET", "POST"], headers={"Allow": "GET, POST"}),
        405,
        {"code": "method-not-allowed", "allowed": ["GET", "POST"]},
        {"allow": "GET, POST"},
    ),
    row(
        "problem-header-kept",
        CATALOG["conflict"](headers={"Link": '<https://status.example>; rel="help"'}),
        409,
        {"code": "conflict"},
        {"link": '<https://status.example>; rel="help"'},
    ),
    row(
        "problem-framing-headers-dropped",
        CATALOG["conflict"](headers={"Content-Length": "0", "Transfer-Encoding": "chunked", "X-Request-ID": "forged"}),
        409,
        {"code": "conflict"},
    ),
    row(
        "problem-header-injection-dropped",
        CATALOG["conflict"](headers={"X-Note": "a\r\nSet-Cookie: x=1"}),
        409,
        {"code": "conflict"},
    ),
    row("generic-418", Problem(status=418), 418, {"type": "about:blank", "title": "I'm a teapot"}),
    row(
        "generic-own-type",
        Problem(
            "Your balance is 30.",
            type="https://example.com/out-of-credit",
            title="Out of credit",
            status=403,
            balance=30,
        ),
        403,
        {
            "type": "https://example.com/out-of-credit",
            "title": "Out of credit",
            "detail": "Your balance is 30.",
            "balance": 30,
        },
    ),
    row("unhandled", RuntimeError("password=hunter2 at db.internal:5432"), 500, INTERNAL),
    row(
        "unhandled-debug",
        RuntimeError("boom"),
        500,
        {**INTERNAL, "debug": debug_of("builtins.RuntimeError", "boom")},
        debug=True,
    ),
    # An OSError the app raised is a crash: only one the server's callables raised is a disconnect.
    row("unhandled-oserror", ConnectionRefusedError("db refused"), 500, INTERNAL),
    row("map-slug", KeyError("zone"), 404, {"code": "not-found"}, exception_map={KeyError: "not-found"}),
    row("map-class", Mine(), 410, {"code": "gone"}, exception_map={Mine: CATALOG["gone"]}),
    row(
        "map-function",
        ValueError("limit must be an integer"),
        400,
        {"code": "bad-request", "detail": "limit must be an integer"},
        exception_map={ValueError: lambda exc: CATALOG["bad-request"](str(exc))},
    ),
    row("map-by-mro", MineToo(), 410, {"code": "gone"}, exception_map={Mine: "gone"}),
    row("map-nearest-class", MineToo(), 409, {"code": "conflict"}, exception_map={Mine: "gone", MineToo: "conflict"}),
    row("map-function-none", ValueError(), 500, INTERNAL, exception_map={ValueError: lambda exc: None}),
    row("map-function-fails", ValueError(), 500, INTERNAL, exception_map={ValueError: failing}),
    row("starlette-404", HTTPException(404), 404, {"code": "not-found"}),
    row(
        "starlette-404-detail",
        HTTPException(404, "Zone abc not found"),
        404,
        {"code": "not-found", "detail": "Zone abc not found"},
    ),
    row(
        "starlette-405",
        HTTPException(405, headers={"Allow": "GET, HEAD"}),
        405,
        {"code": "method-not-allowed"},
        {"allow": "GET, HEAD"},
    ),
    row("starlette-401", HTTPException(401), 401, {"code": "unauthorized"}, {"www-authenticate": "Bearer"}),
    row(
        "starlette-401-challenge",
        HTTPException(401, headers={"WWW-Authenticate": 'Basic realm="x"'}),
        401,
        {"code": "unauthorized"},
        {"www-authenticate": 'Basic realm="x"'},
    ),
    row(
        "starlette-429",
        HTTPException(429, headers={"Retry-After": "120"}),
        429,
        {"code": "rate-limited"},
        {"retry-after": "120"},
    ),
    row(
        "starlette-429-set-cookie",
        HTTPException(429, headers={"Retry-After": "2147483649", "Set-Cookie": "seen=1"}),
        429,
        {"code": "rate-limited"},
        {"retry-after": "2147483648", "set-cookie": "seen=1"},
    ),
    row("starlette-500-detail-hidden", HTTPException(500, "db at 10.0.0.1 is down"), 500, INTERNAL),
    row(
        "starlette-uncatalogued",
        HTTPException(418, "short and stout"),
        418,
        {"type": "about:blank", "title": "I'm a teapot", "detail": "short and stout"},
    ),
    row(
        "fastapi-validation",
        RequestValidationError([ITEM, {"loc": ("query", "limit"), "msg": "bad", "type": "int_parsing"}]),
        422,
        {
            "code": "unprocessable",
            "errors": [
                {"detail": "Input should be 'red'", "pointer": "#/profile/color", "code": "enum"},
                {"detail": "bad", "parameter": "limit", "in": "query", "code": "int_parsing"},
            ],
        },
    ),
    row("werkzeug-405", MethodNotAllowed(["GET", "POST"]), 405, {"code": "method-not-allowed"}, {"allow": "GET, POST"}),
    row(
        "falcon-404",
        falcon.HTTPNotFound(description="No zone abc."),
        404,
        {"code": "not-found", "detail": "No zone abc."},
    ),
    row(
        "litestar-validation",
        ValidationException(
            "Validation failed for POST /zones", extra=[{"message": "Expected `int`", "key": "ttl", "source": "body"}]
        ),
        400,
        {
            "code": "bad-request",
            "detail": "Validation failed for POST /zones",
            "errors": [{"detail": "Expected `int`", "pointer": "#/ttl"}],
        },
    ),
    # Another service's 404 is this one's upstream failure; its body stays out (RFC 9457 §5).
    row("received", upstream(404, NOT_FOUND_UPSTREAM), 502, {"code": "bad-gateway"}),
    row(
        "relayed",
        upstream(422, INVALID_UPSTREAM).relayed(),
        422,
        {
            "code": "unprocessable",
            "detail": "1 field is invalid.",
            "errors": [{"detail": "must be positive", "pointer": "#/ttl"}],
        },
    ),
    row(
        "relayed-retry-after",
        upstream(503, BUSY_UPSTREAM, {"retry-after": "30"}).relayed(),
        503,
        {"code": "unavailable"},
        {"retry-after": "30"},
    ),
    row(
        "group-of-one",
        ExceptionGroup("g", [CATALOG["conflict"]("in a task")]),
        409,
        {"code": "conflict", "detail": "in a task"},
    ),
    row(
        "group-same-type",
        ExceptionGroup("g", [CATALOG["gone"]("first"), CATALOG["gone"]("second")]),
        410,
        {"code": "gone", "detail": "first"},
    ),
    row(
        "group-nested",
        ExceptionGroup("g", [ExceptionGroup("h", [CATALOG["conflict"]("deep")])]),
        409,
        {"code": "conflict", "detail": "deep"},
    ),
    row(
        "group-mapped",
        ExceptionGroup("g", [KeyError("zone")]),
        404,
        {"code": "not-found"},
        exception_map={KeyError: "not-found"},
    ),
    row("group-two-problems", ExceptionGroup("g", [CATALOG["conflict"](), CATALOG["gone"]()]), 500, INTERNAL),
    row("group-problem-and-crash", ExceptionGroup("g", [CATALOG["conflict"](), RuntimeError("x")]), 500, INTERNAL),
    row("group-crash", ExceptionGroup("g", [RuntimeError("x")]), 500, INTERNAL),
]


@pytest.mark.parametrize(ROW, EXCEPTIONS)
def test_responder_answers_an_exception(
    event: Exception, accept: str, options: dict[str, Any], expected: Expected
) -> None:
    check_row(event, accept, options, expected)


# -- rendered pages --------------------------------------------------------------------------------------

TEXT = (b"content-type", b"text/plain; charset=utf-8")
JSON_PAGE = (b"content-type", b"application/json")
HTML_PAGE = (b"content-type", b"text/html; charset=utf-8")
FASTAPI_422 = {"detail": [{**ITEM, "loc": list(ITEM["loc"])}]}
FASTAPI_BAD_JSON = {
    "detail": [
        {"loc": ["body", 12], "msg": "JSON decode error", "type": "json_invalid", "ctx": {"error": "Expecting value"}}
    ]
}
LITESTAR_400 = {
    "status_code": 400,
    "detail": "Validation failed for POST /zones",
    "extra": [
        {"message": "Expected `int`", "key": "ttl", "source": "body"},
        {"message": "bad", "key": "q", "source": "query"},
    ],
}
REPRESENTATION = [
    TEXT,
    (b"content-length", b"7"),
    (b"content-language", b"en"),
    (b"content-disposition", b'attachment; filename="error.txt"'),
    (b"content-location", b"/error.txt"),
    (b"etag", b'"abc"'),
    (b"last-modified", A_DATE.encode()),
    (b"cache-control", b"max-age=3600"),
    (b"vary", b"Accept-Encoding"),
    (b"x-content-type-options", b"none"),
    (b"content-range", b"bytes 0-6/7"),
    (b"transfer-encoding", b"chunked"),
    (b"x-request-id", b"forged"),
    (b"connection", b"keep-alive"),
    (b"keep-alive", b"timeout=5"),
]
BOMB = gzip.compress(b"\0" * 10_000_000)  # 10 MB of zeros in 10 kB: read no further than a page is read
OTHERS = [
    TEXT,
    (b"set-cookie", b"session=1; HttpOnly"),
    (b"access-control-allow-origin", b"https://app.example"),
    (b"access-control-expose-headers", b"X-Request-ID"),
    (b"link", b'<https://status.example>; rel="help"'),
    (b"x-served-by", b"edge-3"),
]

PAGES = [
    row(
        "text-4xx", Page(404, [TEXT], b"Zone abc not found"), 404, {"code": "not-found", "detail": "Zone abc not found"}
    ),
    row("text-4xx-status-phrase", Page(404, [TEXT], b"Not Found"), 404, {"code": "not-found", "detail": ABSENT}),
    row("text-4xx-long", Page(404, [TEXT], b"x" * 2000), 404, {"code": "not-found", "detail": "x" * 1000}),
    row("text-5xx-hidden", Page(500, [TEXT], b"Traceback: password=hunter2"), 500, INTERNAL),
    row(
        "text-uncatalogued",
        Page(418, [TEXT], b"short and stout"),
        418,
        {"type": "about:blank", "title": "I'm a teapot", "detail": "short and stout"},
    ),
    row(
        "json-detail",
        Page(409, [JSON_PAGE], b'{"detail": "Zone exists"}'),
        409,
        {"code": "conflict", "detail": "Zone exists"},
    ),
    row(
        "json-problem-lookalike",
        Page(409, [JSON_PAGE], b'{"type": "x:y", "title": "T", "detail": "Zone exists"}'),
        409,
        {"code": "conflict", "detail": "Zone exists"},
    ),
    row(
        "json-detail-5xx-hidden",
        Page(502, [JSON_PAGE], b'{"detail": "10.0.0.1 timed out"}'),
        502,
        {"code": "bad-gateway", "detail": ABSENT},
    ),
    row(
        "json-detail-no-text",
        Page(400, [JSON_PAGE], b'{"detail": {"a": 1}}'),
        400,
        {"code": "bad-request", "detail": ABSENT},
    ),
    row(
        "json-falcon",
        Page(400, [JSON_PAGE], b'{"title": "400 Bad Request", "description": "Bad limit."}'),
        400,
        {"code": "bad-request", "detail": "Bad limit."},
    ),
    row(
        "json-invalid", Page(400, [JSON_PAGE], b'{"detail": "unclosed'), 400, {"code": "bad-request", "detail": ABSENT}
    ),
    row(
        "fastapi-422",
        Page(422, [JSON_PAGE], json.dumps(FASTAPI_422).encode()),
        422,
        {
            "code": "unprocessable",
            "errors": [{"detail": "Input should be 'red'", "pointer": "#/profile/color", "code": "enum"}],
        },
    ),
    row(
        "fastapi-422-body-not-json",
        Page(422, [JSON_PAGE], json.dumps(FASTAPI_BAD_JSON).encode()),
        400,
        {"code": "bad-request", "detail": "The request body is not valid JSON: Expecting value at character 12."},
    ),
    row(
        "litestar-extra",
        Page(400, [JSON_PAGE], json.dumps(LITESTAR_400).encode()),
        400,
        {
            "code": "bad-request",
            "detail": "Validation failed for POST /zones",
            "errors": [
                {"detail": "Expected `int`", "pointer": "#/ttl"},
                {"detail": "bad", "parameter": "q", "in": "query"},
            ],
        },
    ),
    row("empty", Page(404), 404, {"code": "not-found"}),
    row(
        "empty-405-allow",
        Page(405, [(b"allow", b"GET, HEAD")]),
        405,
        {"code": "method-not-allowed"},
        {"allow": "GET, HEAD"},
    ),
    row("empty-401", Page(401), 401, {"code": "unauthorized"}, {"www-authenticate": "Bearer"}),
    row(
        "401-challenge-kept",
        Page(401, [(b"www-authenticate", b'Basic realm="x"')]),
        401,
        {"code": "unauthorized"},
        {"www-authenticate": 'Basic realm="x"'},
    ),
    row(
        "503-retry-after-kept",
        Page(503, [TEXT, (b"retry-after", b"120")], b"busy"),
        503,
        {"code": "unavailable"},
        {"retry-after": "120"},
    ),
    row("429-retry-after-invalid", Page(429, [(b"retry-after", b"soon")]), 429, {"code": "rate-limited"}),
    row(
        "html-page",
        Page(404, [HTML_PAGE], b"<!doctype html><h1>Not Found</h1><p>zone abc</p>"),
        404,
        {"code": "not-found", "detail": ABSENT},
    ),
    row(
        "html-short-text",
        Page(404, [HTML_PAGE], b"no such order &amp; no invoice"),
        404,
        {"code": "not-found", "detail": "no such order & no invoice"},
    ),
    row(
        "gzip-text",
        Page(404, [TEXT, (b"content-encoding", b"gzip")], gzip.compress(b"Zone abc not found")),
        404,
        {"code": "not-found", "detail": "Zone abc not found"},
    ),
    row(
        "deflate-json",
        Page(409, [JSON_PAGE, (b"content-encoding", b"deflate")], zlib.compress(b'{"detail": "Zone exists"}')),
        409,
        {"code": "conflict", "detail": "Zone exists"},
    ),
    row(
        "brotli-unread",
        Page(404, [TEXT, (b"content-encoding", b"br")], b"\x8b\x03\x80zone\x03"),
        404,
        {"code": "not-found", "detail": ABSENT},
    ),
    row(
        "representation-headers-dropped",
        Page(404, REPRESENTATION, b"missing"),
        404,
        {"code": "not-found", "detail": "missing"},
    ),
    row(
        "other-headers-kept",
        Page(403, OTHERS),
        403,
        {"code": "forbidden"},
        {
            "set-cookie": "session=1; HttpOnly",
            "access-control-allow-origin": "https://app.example",
            "access-control-expose-headers": "X-Request-ID",
            "link": '<https://status.example>; rel="help"',
            "x-served-by": "edge-3",
        },
    ),
    row(
        "gzip-corrupt",
        Page(404, [TEXT, (b"content-encoding", b"gzip")], b"\x1f\x8bnot gzip"),
        404,
        {"code": "not-found"},
    ),
    row("gzip-bomb-bounded", Page(404, [TEXT, (b"content-encoding", b"gzip")], BOMB), 404, {"code": "not-found"}),
    row(
        "json-deeply-nested",
        Page(400, [JSON_PAGE], b'{"detail": ' + b"[" * 60_000 + b"]" * 60_000 + b"}"),
        400,
        {"code": "bad-request"},
    ),
]


@pytest.mark.parametrize(ROW, PAGES)
def test_responder_replaces_a_rendered_page(
    event: Page, accept: str, options: dict[str, Any], expected: Expected
) -> None:
    check_row(event, accept, options, expected)


@pytest.mark.parametrize(
    "content_type",
    [b"application/problem+json", b"application/problem+xml", b"Application/Problem+JSON; charset=utf-8"],
)
def test_responder_passes_a_page_that_is_a_problem_already(content_type: bytes) -> None:
    page = Page(409, [(b"content-type", content_type), (b"content-length", b"2")], b"{}")
    answer = respond(make_responder(), page)
    assert (answer.status, answer.body) == (409, b"{}")
    assert dict(answer.headers)["content-type"] == content_type.decode()


def test_responder_keeps_every_set_cookie_of_a_rendered_page() -> None:
    # RFC 6265 §3: "Origin servers SHOULD NOT fold multiple Set-Cookie header fields into a single header field."
    page = Page(404, [TEXT, (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")], b"gone")
    answer = respond(make_responder(), page)
    assert [value for name, value in answer.headers if name == "set-cookie"] == ["a=1", "b=2"]


def test_responder_keeps_what_a_kept_header_varies_on() -> None:
    # A CORS layer that echoes one allowed origin sends `Vary: Origin` with it: the problem response keeps that
    # origin, so a shared cache that is not told it varies on Origin serves it to other origins (RFC 9110 §12.5.5).
    page = Page(403, [TEXT, (b"access-control-allow-origin", b"https://app.example"), (b"vary", b"Origin")])
    vary = dict(respond(make_responder(), page).headers)["vary"]
    assert {token.strip().lower() for token in vary.split(",")} == {"accept", "accept-language", "origin"}


def test_responder_reads_a_rendered_page_in_its_charset() -> None:
    page = Page(404, [(b"content-type", b"text/plain; charset=iso-8859-1")], "Café fermé".encode("latin-1"))
    check(respond(make_responder(), page), 404, {"code": "not-found", "detail": "Café fermé"})


# -- no answer -------------------------------------------------------------------------------------------


def test_responder_answers_no_answer_with_the_500_problem() -> None:
    check(respond(make_responder(), NO_ANSWER), 500, INTERNAL)


# -- negotiation and HEAD --------------------------------------------------------------------------------

# One event of each kind, with what it answers.
KINDS = [
    pytest.param(
        CATALOG["conflict"]("</script><b>a & b</b>", conflicts=["a1", "b2"]),
        409,
        {"code": "conflict", "detail": "</script><b>a & b</b>", "conflicts": ["a1", "b2"]},
        id="exception",
    ),
    pytest.param(
        Page(404, [TEXT], b"Zone abc not found"), 404, {"code": "not-found", "detail": "Zone abc not found"}, id="page"
    ),
    pytest.param(NO_ANSWER, 500, INTERNAL, id="no-answer"),
]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
NEGOTIATION = [
    pytest.param("", JSON, id="none"),
    pytest.param("*/*", JSON, id="any"),
    pytest.param("application/json", JSON, id="json"),
    pytest.param("application/problem+json", JSON, id="problem-json"),
    pytest.param("application/problem+xml", XML, id="problem-xml"),
    pytest.param("application/xml", XML, id="xml"),
    pytest.param("text/xml", XML, id="text-xml"),
    pytest.param("text/html", HTML, id="html"),
    pytest.param("application/xhtml+xml", HTML, id="xhtml"),
    pytest.param("TEXT/HTML", HTML, id="html-uppercase"),
    pytest.param(BROWSER, HTML, id="browser"),
    pytest.param("application/json;q=0.5, text/html", HTML, id="q-html-preferred"),
    pytest.param("text/html;q=0.5, application/problem+xml;q=0.9", XML, id="q-xml-preferred"),
    pytest.param("application/problem+xml;q=0.5, */*", JSON, id="q-wildcard-preferred"),
    pytest.param("application/xml, text/html", XML, id="tie-xml-before-html"),
    pytest.param("text/html;q=0", JSON, id="q-zero"),
    pytest.param("text/html;q=high", JSON, id="q-invalid"),
    pytest.param("image/png", JSON, id="unacceptable-never-406"),
]


@pytest.mark.parametrize(("accept", "media"), NEGOTIATION)
@pytest.mark.parametrize(("event", "status", "members"), KINDS)
def test_responder_negotiates_the_representation(
    event: Event, status: int, members: dict[str, object], accept: str, media: str
) -> None:
    check(respond(make_responder(), event, accept=accept), status, members, media=media)


@pytest.mark.parametrize("accept", ["", "application/problem+xml", "text/html"])
@pytest.mark.parametrize(("event", "status", "members"), KINDS)
def test_responder_answers_head_with_the_get_headers(
    event: Event, status: int, members: dict[str, object], accept: str
) -> None:
    head = respond(make_responder(), event, method="HEAD", accept=accept)
    # The responder's HEAD body is the GET body: the transport leaves it out (Content-Length kept).
    assert head == respond(make_responder(), event, method="GET", accept=accept)
    media = {"": JSON, "application/problem+xml": XML, "text/html": HTML}[accept]
    check(head, status, members, media=media)


class BrokenProfile(EnvelopeProfile):
    def render(self, problem: Problem) -> Any:
        raise Unprintable()


@pytest.mark.parametrize(
    ("profile", "accept", "media", "body"),
    [
        pytest.param(
            DetailProfile(),
            "",
            "application/json",
            {"detail": {"message": "Zone exists", "conflicts": ["a1"]}},
            id="detail",
        ),
        pytest.param(
            DetailProfile(objects=False),
            "application/json",
            "application/json",
            {"detail": "Zone exists"},
            id="detail-string",
        ),
        pytest.param(
            EnvelopeProfile(),
            "*/*",
            "application/json",
            {"code": "CONFLICT", "message": "Zone exists", "details": {"conflicts": ["a1"]}, "request_id": REQUEST_ID},
            id="envelope",
        ),
        pytest.param(EnvelopeProfile(), "application/problem+json", JSON, None, id="problem-json-asked"),
        pytest.param(EnvelopeProfile(), "text/html", HTML, None, id="html-asked"),
        pytest.param(BrokenProfile(), "application/xml", XML, None, id="broken-profile-not-asked"),
    ],
)
def test_responder_keeps_a_legacy_shape_for_clients_that_do_not_ask_for_problems(
    profile: Any, accept: str, media: str, body: dict[str, object] | None
) -> None:
    problem = CATALOG["conflict"]("Zone exists", conflicts=["a1"])
    answer = respond(make_responder(profile=profile), problem, accept=accept)
    if body is None:  # a client that asks for a problem gets one
        check(answer, 409, {"code": "conflict", "detail": "Zone exists", "conflicts": ["a1"]}, media=media)
        return
    sent = dict(answer.headers)
    assert (answer.status, sorted(sent)) == (409, sorted(PINNED))
    assert (sent["content-type"], sent["content-length"]) == (media, str(len(answer.body)))
    assert json.loads(answer.body) == body


# -- the request's facts ---------------------------------------------------------------------------------

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("path", "headers", "members"),
    [
        pytest.param("/v1/zones", {}, {"instance": "/v1/zones"}, id="path"),
        pytest.param("/v1/zones/a b/é", {}, {"instance": "/v1/zones/a%20b/%C3%A9"}, id="path-percent-encoded"),
        pytest.param("//evil.example/x", {}, {"instance": "/.//evil.example/x"}, id="never-another-host"),
        pytest.param(
            PATH, {"traceparent": TRACEPARENT}, {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, id="traceparent"
        ),
        pytest.param(PATH, {"traceparent": "00-nonsense"}, {}, id="traceparent-invalid"),
    ],
)
def test_responder_answers_with_the_facts_of_the_request(
    path: str, headers: dict[str, str], members: dict[str, object]
) -> None:
    answer = respond(make_responder(), CATALOG["gone"](), path=path, headers=headers)
    check(answer, 410, {"code": "gone", **members}, path=path)


def test_responder_leaves_instance_out_when_told() -> None:
    check(respond(make_responder(instance=None), CATALOG["gone"]()), 410, {"code": "gone", "instance": ABSENT})


# -- the error path never raises -------------------------------------------------------------------------


class Hostile(str):
    """Text that refuses to be written."""

    def __str__(self) -> str:
        raise RuntimeError("no")


def with_extension(problem: Problem, name: str, value: object) -> Problem:
    """`problem` with an extension member set after it was built (the constructor would refuse it)."""
    problem.extensions[name] = value
    return problem


def enriching(result: Callable[[Problem], object]) -> Callable[[Problem, Any], Any]:
    return lambda problem, native: result(problem)


def crash(*args: object) -> Any:
    raise RuntimeError("hook is buggy")


LOOP: list[object] = []
LOOP.append(LOOP)
# The catalog's 500 problem as problem+json, whatever was asked: no instance, no header of the problem's.
PLAIN_500 = {"code": "internal", "instance": ABSENT}
HOSTILE = [
    row("unencodable-extension", with_extension(Problem("x", status=409), "oops", object()), 500, PLAIN_500),
    row("hostile-member", with_extension(CATALOG["rate-limited"](retry_after=1), "note", Hostile("x")), 500, PLAIN_500),
    row("recursive-member", with_extension(CATALOG["conflict"](), "loop", LOOP), 500, PLAIN_500),
    row("profile-raises", CATALOG["gone"](), 500, PLAIN_500, profile=BrokenProfile()),
    row(
        "debug-unprintable",
        Unprintable(),
        500,
        {**INTERNAL, "debug": debug_of(f"{__name__}.Unprintable", "<unprintable Unprintable>")},
        debug=True,
    ),
    row("instance-function-fails", CATALOG["gone"](), 410, {"code": "gone", "instance": ABSENT}, instance=crash),
    row(
        "instance-not-a-uri",
        CATALOG["gone"](),
        410,
        {"code": "gone", "instance": ABSENT},
        instance=lambda native: "not a uri",
    ),
    row("enrich-fails", CATALOG["gone"](), 410, {"code": "gone"}, enrich=crash),
    row(
        "enrich-other-problem",
        CATALOG["gone"](),
        410,
        {"code": "gone"},
        enrich=enriching(lambda p: CATALOG["conflict"]()),
    ),
    row("enrich-not-a-problem", CATALOG["gone"](), 410, {"code": "gone"}, enrich=enriching(lambda p: "tenant")),
    row(
        "unencodable-extension-html",
        with_extension(Problem("x", status=409), "oops", object()),
        500,
        PLAIN_500,
        accept="text/html",
    ),
    row(
        "page-header-injection",
        Page(404, [TEXT, (b"x-note", b"a\r\nSet-Cookie: x=1")], b"gone"),
        404,
        {"code": "not-found", "detail": "gone"},
    ),
]


@pytest.mark.parametrize(ROW, HOSTILE)
def test_responder_never_fails_on_the_error_path(
    event: Event, accept: str, options: dict[str, Any], expected: Expected, caplog: pytest.LogCaptureFixture
) -> None:
    check_row(event, accept, options, expected)
    assert any(record.levelno >= logging.WARNING for record in caplog.records), "the failure is logged"


# -- the public sans-IO API: `problemdetails.Responder(...).answer(exc, problemdetails.Request(...))`


def test_public_request_reads_its_facts_from_headers() -> None:
    given = PublicRequest("GET", "/v1/zones", [("X-Request-ID", "req-7"), ("Accept", "application/problem+xml")])
    assert (given.method, given.path, given.request_id, given.accept) == (
        "GET",
        "/v1/zones",
        "req-7",
        b"application/problem+xml",
    )
    invalid = PublicRequest("GET", "/", [(b"x-request-id", b"not valid \x01")])
    assert re.fullmatch("[0-9a-f]{32}", invalid.request_id)
    assert PublicRequest("GET", "/", [("X-Request-ID", "req-7")], request_id="mine").request_id == "mine"
    traced = PublicRequest("GET", "/", [("traceparent", "00-" + "a" * 32 + "-" + "b" * 16 + "-01")])
    assert traced.trace_id == "a" * 32
    with pytest.raises(TypeError, match="header names and values are str or bytes, not int"):
        PublicRequest("GET", "/", [("Content-Length", 12)])  # type: ignore[list-item]


def test_public_answer_decides_logs_and_empties_head(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    responder = PublicResponder(CATALOG, exception_map={TimeoutError: "gateway-timeout"})
    answer = responder.answer(TimeoutError("store at 10.0.0.5 timed out"), PublicRequest("GET", "/v1/zones"))
    body = json.loads(answer.body)
    assert (answer.status, body["code"], body["instance"]) == (504, "gateway-timeout", "/v1/zones")
    assert dict(answer.headers)[b"x-request-id"] == body["request_id"].encode()
    assert b"10.0.0.5" not in answer.body
    (record,) = [record for record in caplog.records if record.name == "problemdetails"]
    assert (record.levelno, record.exc_info is not None) == (logging.ERROR, True)  # mapped: with its traceback
    head = responder.answer(CATALOG["gone"](), PublicRequest("HEAD", "/v1/zones/1"))
    assert (head.status, head.body) == (410, b"")
    assert int(dict(head.headers)[b"content-length"]) > 0  # what GET would send
    with pytest.raises(KeyboardInterrupt):  # not the error path's to answer
        responder.answer(KeyboardInterrupt(), PublicRequest("GET", "/"))


def test_the_sans_io_responder_leaves_no_reference_cycle() -> None:
    # As a middleware's requests do not (tests/test_asgi.py): with the collector off, the
    # request's state is freed once the caller drops the request.
    responder = PublicResponder(CATALOG)
    headers = [("Accept", "application/json"), ("traceparent", "00-" + "a" * 32 + "-" + "b" * 16 + "-01")]
    gc.disable()
    try:
        request = PublicRequest("GET", "/zones/1", headers)
        exchange = weakref.ref(request.exchange)
        status = 0
        try:
            raise CATALOG["conflict"]("taken")
        except Exception as exc:  # as a handler of another stack catches it
            status = responder.answer(exc, request).status
        assert status == 409
        del request
        assert exchange() is None
    finally:
        gc.enable()
