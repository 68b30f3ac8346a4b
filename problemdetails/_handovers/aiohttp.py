"""aiohttp: a middleware of the app's answers every error with its problem.

aiohttp serves neither ASGI nor WSGI, so no wrapper reaches it: the layer is
an aiohttp middleware (new style: `(request, handler)`), first in
`app.middlewares`. Every handler's exception passes through it, aiohttp's own
router 404 and 405 too (its router raises them inside the middleware chain),
and so does every response a handler returns. It answers:

    a raised problem, a mapped exception ─► its problem
    a raised `web.HTTPException` (4xx, 5xx) ─► its status's problem, its headers kept (`Allow`, `Retry-After`...)
    a crash                              ─► the 500 problem, logged once with its traceback
    an error page a handler returned      ─► replaced by its status's problem, a 4xx's message kept
    a redirect (`HTTPFound`...)           ─► passed on, as aiohttp sends it

The decision is the responder's (`Responder.raised`, `HandOver.replaced`); the
answer goes out as an aiohttp `web.Response`. Each request's facts are kept as
an ASGI-like scope (what `instance=` and `enrich=` functions get) in the
request's own mapping, with its `Exchange`. `install(app)` also hooks
`on_response_prepare`, so a response the handler prepared itself (a
`StreamResponse`) carries `X-Request-ID` too; a failure after it started is
logged and re-raised, and aiohttp aborts the connection (its own record of it
is dropped: the layer's is the one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from problemdetails import _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import serving
from problemdetails._decider import HELD_BODY_LIMIT, client_detail, problem_for_status
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import Framework, docs_answer, header_fields
from problemdetails._problem import Problem
from problemdetails._request import request_of
from problemdetails._responder import Answer, is_problem

if TYPE_CHECKING:
    from problemdetails._transport import Transport

__all__ = ["AioHTTP", "Layer", "scope_key"]


@functools.cache
def scope_key() -> Any:
    """Where the layer keeps a request's ASGI-like scope, in the aiohttp request's own mapping.

    A `web.RequestKey` where aiohttp has them (3.12): it warns about keys that are plain strings.
    """
    from aiohttp import web

    make = getattr(web, "RequestKey", None)
    return make("problemdetails.scope", dict) if make is not None else "problemdetails.scope"


# Set in the scope once the response's headers are on their way (`on_response_prepare`).
_PREPARED = "problemdetails.prepared"


class AioHTTP(Framework):
    module = "aiohttp"
    apps = frozenset({"aiohttp.web_app.Application"})

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """The layer first of the app's middlewares, and `X-Request-ID` on every response (`problemdetails.install`)."""
        from problemdetails._transport import Transport

        if any(isinstance(middleware, Layer) for middleware in app.middlewares):
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        if app.frozen:
            raise RuntimeError(f"install problem details before the {type(app).__name__} starts")
        app.middlewares.insert(0, Layer(Transport(app, **options)))
        app.on_response_prepare.append(_prepared)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """A raised `web.HTTPException` of 400 or more: its status's problem, its message and headers kept."""
        from aiohttp import web

        if not isinstance(exc, web.HTTPException) or exc.status < 400:
            return None
        text = exc.text
        default = f"{exc.status}: {exc.reason}"  # what aiohttp writes when given no text
        problem = problem_for_status(catalog, exc.status, client_detail(exc.status, None if text == default else text))
        # `Allow` (aiohttp's 405 sets it), `WWW-Authenticate`, `Retry-After`...: the responder drops
        # what describes aiohttp's own text body (its `Content-Type`).
        problem.headers.update(exc.headers)
        return problem


class Layer:
    """The request layer: an aiohttp middleware over the responder (`problemdetails.aiohttp.problem_middleware`)."""

    __middleware_version__ = 1  # aiohttp's new-style middleware: called with the request and the next handler

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        server = logging.getLogger("aiohttp.server")
        if not any(isinstance(existing, _Aborted) for existing in server.filters):
            server.addFilter(_Aborted())

    async def __call__(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        key = scope_key()
        native = request.get(key)
        if native is None:  # the outermost layer (a sub-application's takes the same)
            native = request[key] = _scope(request)
        exchange = self.transport.enter(native)
        token = serving.set(native)  # `current_request_id()` for the app's own code
        try:
            docs = await self._docs(native)
            if docs is not None:
                return docs
            try:
                response = await handler(request)
            except Exception as exc:
                return self._raised(native, exc, request.writer.output_size > 0)
            return self._leave(native, response)
        finally:
            serving.reset(token)
            self.transport.leave(exchange)

    def _raised(self, native: MutableMapping[str, Any], exc: Exception, sent: bool) -> Any:
        """The answer to an exception; `sent`: bytes of a response went out already."""
        from aiohttp import web

        if isinstance(exc, web.HTTPException) and exc.status < 400:
            _stamp(native, exc)
            raise exc  # a redirect, or another answer aiohttp sends as it is
        responder = self.transport.responder
        request = request_of(native)
        # Its headers on their way (installed: `on_response_prepare` said so), or bytes sent (aiohttp's
        # own test before it answers a crash: a prepared response whose headers are still buffered is
        # replaced by the answer).
        if native.get(_PREPARED) or sent:
            # RFC 9110 has no way to take back a status line: aiohttp aborts the connection,
            # and the client sees truncation.
            responder.log_exception(exc, "exception after the response started; aborting", request)
            with contextlib.suppress(AttributeError):  # an exception with `__slots__` only is logged twice
                exc._problemdetails_logged = True  # type: ignore[attr-defined]  # for `_Aborted`
            raise exc
        answer = responder.raised(responder.unwrap(exc), request)
        exchange = exchange_of(native)
        if exchange is not None:  # a layer outside (a parent application's) passes it on as it is
            exchange.answered = answer.status, answer.headers
        _telemetry.relabel(native, answer.status)
        return _response(answer)

    def _leave(self, native: MutableMapping[str, Any], response: Any) -> Any:
        """A response a handler returned: an error page replaced by its problem, `X-Request-ID` on every one."""
        status = response.status
        if status >= 400 and not response.prepared and self.transport.rewrite_error_responses:
            headers = _headers(response, self.transport.responder.logger)
            exchange = exchange_of(native)
            answered = exchange.answered if exchange is not None else None
            if not (answered is not None and answered[0] == status) and not is_problem(headers):
                body = response.body if isinstance(response.body, (bytes, bytearray)) else b""  # a stream is not read
                answer = self.transport.handover.replaced(native, status, headers, bytes(body[:HELD_BODY_LIMIT]))
                # The same response object: its cookies stay.
                response.set_status(answer.status)
                response.body = answer.body
                response.headers.clear()
                response.headers.extend(_text_headers(answer.headers))
                _telemetry.relabel(native, answer.status)
        if not response.prepared:
            _stamp(native, response)
        return response

    async def _docs(self, native: MutableMapping[str, Any]) -> Any:
        """A file of the doc site under `docs_path`, as aiohttp's response; None when there is none."""
        docs = self.transport.docs
        path: str = native["path"]
        if docs is None or native["method"] not in ("GET", "HEAD") or not path.startswith(docs.path):
            return None
        if docs.files is None:
            await asyncio.to_thread(docs.render)  # rendering a large catalog takes a while: not on the event loop
        answer = docs_answer(docs, native, path, native["query_string"])
        return _response(answer) if answer is not None else None


def _scope(request: Any) -> dict[str, Any]:
    """An aiohttp request's facts as an ASGI-like scope: what the responder and the `instance=` functions read."""
    return {
        "type": "http",
        "method": request.method,
        "path": request.path,  # decoded, as ASGI's is (`instance` percent-encodes it)
        "query_string": request.query_string.encode("latin-1", "replace"),
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
    }


def _response(answer: Answer) -> Any:
    """The answer as aiohttp's response. HEAD: aiohttp sends GET's headers (`Content-Length` included), no body."""
    from aiohttp import web
    from multidict import CIMultiDict

    return web.Response(status=answer.status, body=answer.body, headers=CIMultiDict(_text_headers(answer.headers)))


def _text_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def _headers(response: Any, logger: logging.Logger) -> list[tuple[bytes, bytes]]:
    """A response's headers, lowercase bytes, with the `Content-Type` aiohttp keeps apart from them."""
    headers = header_fields(response.headers.items(), logger)
    if not any(name == b"content-type" for name, _ in headers) and response.content_type:
        headers.append((b"content-type", response.content_type.encode("latin-1")))
    return headers


def _stamp(native: MutableMapping[str, Any], response: Any) -> None:
    """`X-Request-ID` on a response that has none."""
    exchange = exchange_of(native)
    if exchange is not None and "X-Request-ID" not in response.headers:
        response.headers["X-Request-ID"] = exchange.request_id.decode()


async def _prepared(request: Any, response: Any) -> None:
    """`on_response_prepare`: the response's headers are about to go, whoever prepared it."""
    native = request.get(scope_key())
    if native is not None:
        native[_PREPARED] = True
        _stamp(native, response)


class _Aborted(logging.Filter):
    """Drops aiohttp's own record of an exception the layer logged already ("Error handling request")."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, "_problemdetails_logged", False)
