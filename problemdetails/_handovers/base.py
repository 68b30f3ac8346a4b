"""What every framework hand-over shares: the hand-over object, and the shape of a framework.

A framework answers most exceptions itself, with its own error page, before a
middleware outside it sees anything. Its hand-over, installed by the middleware
at construction, hooks into the framework's error handling (its handler
registry, error hook or got-request-exception signal) and hands each exception
over through `HandOver`, which the request's `Exchange` (`_exchange.py`) holds:

    view raises ─► framework's error hook ─► HandOver.claim ─► HandOver.response ─► framework sends it
                                         └─► HandOver.keep (a crash) ─► framework's 500 page, replaced

- An answer (a raised problem, a mapped exception, a framework HTTP error)
  is *claimed*: the hook answers with the problem's response, through the
  framework's own response machinery. The framework's crash reporting (its
  500 logging, Sentry's integrations) never sees it.
- A crash (any other exception) goes the framework's crash path (logged,
  reported once), and its crash hook *keeps* the exception, so the middleware
  answers for it rather than for the framework's 500 page.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import logging
import math
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from typing import Any, ClassVar

from problemdetails._catalog import Catalog
from problemdetails._context import header
from problemdetails._decider import HELD_BODY_LIMIT, problem_for_status
from problemdetails._docs_site import DocsSite
from problemdetails._exchange import EXCHANGE, Exchange, exchange_of
from problemdetails._grammar import json_pointer, loggable
from problemdetails._member_types import ErrorItem, ParamValue
from problemdetails._problem import Problem
from problemdetails._request import Request, request_of
from problemdetails._responder import Answer, Responder

__all__ = [
    "LOCATIONS",
    "Framework",
    "HandOver",
    "TextFields",
    "browser",
    "docs_answer",
    "error_items",
    "handover_of",
    "header_fields",
    "item_params",
    "jsonschema_item",
    "status_of",
    "text_request",
    "validation_problem",
    "watched",
    "watched_async",
]


class HandOver:
    """The one object through which a framework's error hooks reach the middleware serving the request."""

    __slots__ = ("integrated", "responder")

    def __init__(self, responder: Responder) -> None:
        self.responder: Responder = responder
        # The middleware installed its framework's hooks (not `integrate=False`): hooks
        # that are process-wide, such as Django's signal, act only for such a middleware.
        self.integrated: bool = False

    def claim(self, native: MutableMapping[str, Any], exc: Exception) -> Problem | None:
        """The problem `exc` stands for, decided for the middleware; None for a crash.

        `native` is the request's ASGI scope or WSGI environ. A hook that gets a
        problem answers with its `response()`; one that gets None lets the
        framework's crash path run, and that path's hook calls `keep`.
        """
        responder = self.responder
        if isinstance(exc, Problem):  # the common case: the problem is its own answer
            request = request_of(native)
            problem = responder.decide(exc, request)
        else:
            try:
                translation = responder.translation(exc)
            except Exception:  # a framework's reading of its own error failed: the crash path logs it
                return None
            if translation[0] is None:
                return None
            request = request_of(native)
            problem = responder.problem_for(exc, request, translation)
        if request.exchange is not None:
            request.exchange.problem = problem
        return problem

    def keep(self, native: MutableMapping[str, Any], exc: BaseException) -> None:
        """Decide the problem for a crash the framework caught, which the middleware answers with.

        It is decided and logged here, in the framework's own context (its
        thread, its Sentry scope), so that the crash is reported once.
        """
        exchange = exchange_of(native)
        if exchange is None:
            return
        exchange.kept = exc
        if isinstance(exc, Exception) and exchange.problem is None:
            exchange.problem = self.responder.problem_for(self.responder.unwrap(exc), request_of(native))

    def response(self, native: MutableMapping[str, Any], problem: Problem, *, head_body: bool = False) -> Answer:
        """The status, headers and body of `problem`'s response, for a hook to answer with at once.

        The framework then sends the problem itself, through its own response
        machinery and middleware (its first header is the media type; a
        framework may send only what it needs of the rest); the middleware
        gives that response the answer's headers (`Exchange.answered`) on its
        way out. No empty page to build, hold and replace. `head_body=True`
        keeps GET's body for a HEAD request, for a framework that frames the
        response from it and sends none of it (BlackSheep).
        """
        request = request_of(native)
        answer = self.responder.respond(problem, request)
        if request.exchange is not None:
            request.exchange.problem, request.exchange.answered = problem, (answer.status, answer.headers)
        if request.method == "HEAD" and not head_body:
            # RFC 9110 §9.3.2: "The server SHOULD send the same header fields in response to a HEAD request
            # as it would have sent if the request method had been GET" (Content-Length included, pinned in
            # the answer's headers), and no content: some frameworks send what they are given (Quart).
            return answer._replace(body=b"")
        return answer

    def replaced(
        self, native: MutableMapping[str, Any], status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """The answer that replaces an error page the framework or the app rendered (`Decider.for_page`).

        The problem a hook decided for the request answers, else the page's
        own (its status's, a 4xx's message kept). A layer outside (a guard)
        sends the answer as it is, and decides nothing again.
        """
        request = request_of(native)
        problem = self.responder.for_page(status, headers, body[:HELD_BODY_LIMIT], request)
        answer = self.responder.respond(problem, request, headers)
        if request.exchange is not None:
            request.exchange.problem, request.exchange.answered = problem, (answer.status, answer.headers)
        return answer


def watched(chunks: Iterable[bytes], failed: Callable[[Exception], None]) -> Iterator[bytes]:
    """`chunks`, a failure after the response started handed to `failed` (to log it) before it reaches the server.

    RFC 9110 has no way to take back a status line: the server aborts the
    connection and the client sees truncation; the operator sees the log.
    """
    try:
        yield from chunks
    except Exception as exc:
        failed(exc)
        raise


async def watched_async(chunks: AsyncIterable[bytes], failed: Callable[[Exception], None]) -> AsyncIterator[bytes]:
    """`watched`, for an async body stream."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        failed(exc)
        raise


def header_fields(headers: Iterable[tuple[str, str]], logger: logging.Logger) -> list[tuple[bytes, bytes]]:
    """A framework's text headers (aiohttp's, Tornado's) as lowercase bytes, for the responder.

    Such a framework takes any text as a header; HTTP fields are octets (RFC 9110 §5.5),
    so a header that is not latin-1 is dropped, as the responder drops any invalid field, and logged.
    """
    fields: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        try:
            fields.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            logger.warning("dropped header %s: not a valid HTTP field", loggable(repr(name)))
    return fields


class TextFields:
    """A framework's text headers (Tornado's, Sanic's) as an ASGI scope holds them: an iterable of lowercase byte pairs.

    `pairs` gives them as (name, value) text; they are encoded when first read:
    an error reads them, the happy path does not.
    """

    __slots__ = ("_pairs", "_read")

    def __init__(self, pairs: Callable[[], Iterable[tuple[str, str]]]) -> None:
        self._pairs = pairs
        self._read: list[tuple[bytes, bytes]] | None = None

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        if self._read is None:
            self._read = [
                (name.lower().encode("latin-1", "replace"), value.encode("latin-1", "replace"))
                for name, value in self._pairs()
            ]
        return iter(self._read)


def browser(native: MutableMapping[str, Any]) -> bool:
    """The request prefers HTML: a person at a browser, who gets the framework's debug page in its debug mode."""
    from problemdetails._response import choose_media_type

    return choose_media_type(request_of(native).accept) == "html"


def docs_answer(docs: DocsSite, native: MutableMapping[str, Any], path: str, query: bytes) -> Answer | None:
    """The doc site's file at `path` (under `docs.path`), with the request's `X-Request-ID`; None when there is none."""
    found = docs.response(path[len(docs.path) :], query, header(native, "accept-language", combined=True) or "")
    if found is None:
        return None
    status, headers, body = found
    exchange = exchange_of(native)
    return Answer(status, [*headers, (b"x-request-id", exchange.request_id if exchange is not None else b"")], body)


def text_request(native: MutableMapping[str, Any], values: Callable[[str], Sequence[str]]) -> Request:
    """The request's facts for the responder, from a framework's parsed text headers (Tornado's, Sanic's).

    What `request_of` reads from the scope's headers (the first `Accept`, a
    `traceparent` sent once), without encoding them all; `values` gives a
    header's values by name.
    """
    exchange = exchange_of(native)
    if exchange is None:
        return request_of(native)
    if exchange.request is not None:  # read already
        return exchange.request
    accept, traceparents = values("Accept"), values("Traceparent")
    request = exchange.request = Request._of(
        native["method"],
        native["path"],
        accept[0].encode("latin-1", "replace") if accept else b"",
        exchange.request_id.decode("latin-1"),
        native,
        traceparents[0] if len(traceparents) == 1 else None,
    )
    request.exchange = exchange
    return request


def handover_of(native: MutableMapping[str, Any] | None) -> HandOver | None:
    """The hand-over of the middleware serving this request, or None when no middleware is outside."""
    exchange = native.get(EXCHANGE) if native is not None else None
    return exchange.handover if exchange.__class__ is Exchange else None


def status_of(exc: BaseException, default: int = 500) -> int:
    """The HTTP status an exception carries (`status`, `status_code` or `code`), if it is one."""
    for name in ("status", "status_code", "code"):
        status = getattr(exc, name, None)
        if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
            return status
    return default


class Framework:
    """One framework's hand-over: how to recognise its app, hook it up, and read its errors as problems."""

    module: ClassVar[str]  # its top-level package: nothing here runs unless that is imported
    apps: ClassVar[frozenset[str]]  # its application classes, as "module.QualName"

    def owns(self, app: object) -> bool:
        """`app` is this framework's application object (or a subclass's)."""
        return any(f"{cls.__module__}.{cls.__qualname__}" in self.apps for cls in type(app).__mro__)

    def install(self, app: Any, handover: HandOver) -> None:
        """Hook `app`'s error handling up to `handover` (called once, when a middleware wraps it)."""

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """Put a middleware with `options` where this framework keeps its own (`problemdetails.install`)."""
        raise TypeError(
            f"problemdetails.install() does not install into {type(app).__qualname__} yet: wrap it with "
            "ProblemMiddleware (ASGI) or WSGIProblemMiddleware (WSGI)"
        )

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """The problem for one of this framework's own exceptions (an HTTP error, a validation error), else None."""
        return None

    def rendered(self, status: int, document: object, catalog: Catalog) -> Problem | None:
        """The problem for an error page of this framework's own JSON shape (`document`, parsed), else None."""
        return None

    def disconnect(self, exc: BaseException, server: Sequence[object]) -> bool:
        """`exc` is this framework's word for a client that went away (through the `server` callables)."""
        return False

    def websocket_close(self, exc: BaseException) -> tuple[int, str] | None:
        """The WebSocket close code and reason the app chose with one of this framework's exceptions, else None."""
        return None


# Where a framework says an invalid input was, beside the body: an `errors` item's `in`.
LOCATIONS = frozenset({"query", "path", "header", "cookie"})


def error_items(errors: Iterable[Mapping[str, Any]]) -> list[ErrorItem]:
    """FastAPI / pydantic validation errors (`loc`, `msg`, `type`, `ctx`) as `errors` items.

    Body fields get a JSON Pointer (`#/profile/color`); query, path, header and
    cookie inputs get `parameter` and `in`. pydantic's `type` is the item's
    `code` and its `ctx` (`{"min_length": 3}`) its `params`.
    """
    items: list[ErrorItem] = []
    for error in errors:
        location = list(error.get("loc") or ())
        detail = str(error.get("msg") or "invalid")
        code = error.get("type")
        code = str(code) if code is not None else None
        context = error.get("ctx")
        params = item_params(context) if isinstance(context, Mapping) else None
        if location and location[0] in LOCATIONS and len(location) > 1:
            items.append(
                ErrorItem(detail=detail, parameter=str(location[1]), in_=location[0], code=code, params=params)
            )
        else:
            path = location[1:] if location and location[0] == "body" else location
            items.append(ErrorItem(detail=detail, pointer=json_pointer(path), code=code, params=params))
    return items


def item_params(values: Mapping[str, object]) -> dict[str, ParamValue] | None:
    """A validation rule's parameters as an item's `params`: the JSON scalars among them, None if there are none.

    Limits come as numbers and strings (`min_length`, `ge`, `pattern`); a
    `Decimal`, a date or an enum member is sent as its text. Anything else (the
    exception a custom validator raised, whose message is the item's `detail`
    already) is left out: it has no wire form a client could read.
    """
    params: dict[str, ParamValue] = {}
    for name, value in values.items():
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, (decimal.Decimal, dt.timedelta)):
            value = str(value)
        elif isinstance(value, (dt.date, dt.time)):
            value = value.isoformat()
        if isinstance(value, (str, bool)) or _is_wire_number(value):
            params[str(name)] = value  # type: ignore[assignment]
    return params or None


def jsonschema_item(error: Any) -> ErrorItem:
    """A jsonschema `ValidationError` (Connexion's, Falcon's validators) as an `errors` item at the member it is about.

    Its keyword is the `code` (`minLength`), and the keyword's value the
    `params` when it is a scalar (`{"minLength": 3}`), not a schema or a list.
    """
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        # jsonschema reports a missing member at its parent: the item points at the member itself.
        names = error.validator_value if isinstance(error.validator_value, (list, tuple)) else ()
        missing = [str(name) for name in names if name not in error.instance]
        if missing:
            path.append(missing[0])
    code = str(error.validator)
    detail = str(error.message)[:1000]
    return ErrorItem(
        detail=detail, pointer=json_pointer(path), code=code, params=item_params({code: error.validator_value})
    )


def _is_wire_number(value: object) -> bool:
    """A number JSON can carry as it is: a 64-bit int, or a finite float (RFC 8259 §6 has no NaN)."""
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, float) and math.isfinite(value)


def validation_problem(catalog: Catalog, errors: Sequence[Mapping[str, Any]]) -> Problem:
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
