"""Sanic: `problemdetails.install(app, catalog=...)` answers every error of the app with its problem.

Sanic catches every exception itself (`Sanic.handle_exception`): a handler the
app registered for its class (`@app.exception(...)`) answers it, else the error
handler's `default`, which logs it and renders Sanic's own page. Installed, the
layer is Sanic's own parts, so its server, its ASGI app and its test clients
all carry it:

    request middleware (first)   ─► the request's exchange: its id, `current_request_id()`
    error handler's `default`    ─► HandOver.claim / keep ─► the problem's response (not Sanic's log, not its page)
    response middleware          ─► an error page (the app's handler's, Sanic's) replaced; `X-Request-ID` on all
    `http.lifecycle.exception`   ─► a failure after the response started: logged once; Sanic ends the stream

A `SanicException` is its status's problem, its `headers` kept (`Allow` on the
router's 405, `WWW-Authenticate` on `Unauthorized`) and a 4xx's `message` as
`detail`. In debug mode (`sanic --debug`), a browser still gets Sanic's
traceback page for a crash; API clients get the problem. A `default` of the
app's own (an `ErrorHandler` subclass) still runs, and the page it renders is
replaced like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from problemdetails._catalog import Catalog
from problemdetails._context import serving
from problemdetails._decider import HELD_BODY_LIMIT, client_detail, problem_for_status
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import Framework, TextFields, browser, docs_answer, header_fields, text_request
from problemdetails._problem import Problem
from problemdetails._request import Request
from problemdetails._responder import Answer, is_problem

if TYPE_CHECKING:
    from problemdetails._transport import Transport

__all__ = ["Sanic"]

# The request middleware runs first, and the response middleware last, of the app's (Sanic runs a
# higher priority first, for both). A response middleware that returns a response ends Sanic's
# chain: one of the app's that does so comes before the layer's, which then never sees that response.
_FIRST = 1_000_000


class Sanic(Framework):
    module = "sanic"
    apps = frozenset({"sanic.app.Sanic"})

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """The layer as Sanic's middleware, error handler and signal (`problemdetails.install`)."""
        from problemdetails._transport import Transport

        if getattr(app.ctx, "problemdetails", None) is not None:
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        layer = app.ctx.problemdetails = Layer(Transport(app, **options), app.error_handler.default)
        app.register_middleware(layer.enter, "request", priority=_FIRST)
        app.register_middleware(layer.leave, "response", priority=-_FIRST)
        app.error_handler.default = layer.default
        app.add_signal(layer.failed, "http.lifecycle.exception")
        aborted = logging.getLogger("sanic.error")
        if not any(isinstance(existing, _Aborted) for existing in aborted.filters):
            aborted.addFilter(_Aborted())
            logging.getLogger("sanic.root").addFilter(_Aborted())

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """A `SanicException` of 400 or more: its status's problem, a 4xx's message and its headers kept."""
        from sanic.exceptions import SanicException

        status = exc.status_code if isinstance(exc, SanicException) else 0
        if not isinstance(exc, SanicException) or not isinstance(status, int) or status < 400:
            return None
        problem = problem_for_status(catalog, status, client_detail(status, exc.message))
        # `Allow` on the router's 405, `WWW-Authenticate` on `Unauthorized`...
        problem.headers.update({str(name): str(value) for name, value in (exc.headers or {}).items()})
        return problem


class Layer:
    """The request layer, as Sanic's middleware, error handler and signal."""

    def __init__(self, transport: Transport, default: Any) -> None:
        from sanic.compat import Header
        from sanic.handlers import ErrorHandler
        from sanic.response import HTTPResponse

        self.transport = transport
        self.chained = default  # the error handler's own `default`: Sanic's, or the app's subclass's
        # Whether that is Sanic's own (not an app's `ErrorHandler` subclass's, whose page runs and is replaced).
        self.sanics = getattr(default, "__func__", None) is ErrorHandler.default
        self.response_class, self.header_class = HTTPResponse, Header

    async def enter(self, request: Any) -> Any:
        """Request middleware: the request's exchange (its id), and the request for `current_request_id()`.

        The request stays current in the connection's task after its response
        (a stream is still being sent then; Sanic's access log line comes
        after), until the next request on the connection takes its place.
        """
        if getattr(request.ctx, "problemdetails", None) is not None:
            return None  # run again for an error (`handle_exception` runs the request middleware for the router's)
        previous = exchange_of(serving.get())
        if previous is not None and previous.token is not None:
            serving.reset(previous.token)
            previous.token = None
        native = request.ctx.problemdetails = {"type": "http", "headers": TextFields(request.headers.items)}
        sent = request.headers.getall("x-request-id", ())
        exchange = self.transport.enter(native, sent[0] if len(sent) == 1 else "")
        exchange.token = serving.set(native)
        docs = self.transport.docs
        if docs is not None and request.method in ("GET", "HEAD") and request.path.startswith(docs.path):
            return await self._docs(request, native)
        return None

    async def _docs(self, request: Any, native: MutableMapping[str, Any]) -> Any:
        """A file of the doc site under `docs_path`, as Sanic's response (the request middleware's answer)."""
        docs = self.transport.docs
        assert docs is not None
        if docs.files is None:
            await asyncio.to_thread(docs.render)  # rendering a large catalog takes a while: not on the event loop
        _request(request, native)
        answer = docs_answer(docs, native, native["path"], native["query_string"])
        return self._response(answer) if answer is not None else None

    def default(self, request: Any, exception: Exception) -> Any:
        """The error handler's `default` (no handler of the app's for the exception): its problem."""
        native = getattr(request.ctx, "problemdetails", None)
        if native is None:  # an error before the layer's middleware ran
            return self.chained(request, exception)
        handover = self.transport.handover
        _request(request, native)
        if handover.claim(native, exception) is None:
            handover.keep(native, exception)
        exchange = exchange_of(native)
        if exchange is not None and exchange.kept is not None and request.app.debug and browser(native):
            # Sanic's debug mode: a person at a browser gets its traceback page.
            from sanic.errorpages import exception_response

            exchange.debugged = exchange.kept
            handler = request.app.error_handler
            return exception_response(request, exception, debug=True, base=handler.base, fallback="html")
        if not self.sanics:  # the app's own `default` renders its page; `leave` replaces it
            return self.chained(request, exception)
        assert exchange is not None  # and its problem, decided just now
        assert exchange.problem is not None
        return self._response(handover.response(native, exchange.problem))

    async def leave(self, request: Any, response: Any) -> Any:
        """Response middleware: an error page replaced by its problem, `X-Request-ID` on every response."""
        native = getattr(request.ctx, "problemdetails", None)
        exchange = exchange_of(native)
        if native is None or exchange is None:
            return None
        answered = exchange.answered
        status = response.status
        if (
            status >= 400
            and self.transport.rewrite_error_responses
            and not (answered is not None and answered[0] == status)
            and exchange.debugged is None
        ):
            # Sanic keeps a cookie as an object under `Set-Cookie`: its text is what Sanic sends.
            fields = ((str(name), str(value)) for name, value in response.headers.items())
            headers = header_fields(fields, self.transport.responder.logger)
            if response.content_type and not any(name == b"content-type" for name, _ in headers):
                headers.append((b"content-type", response.content_type.encode("latin-1", "replace")))
            body = response.body if isinstance(response.body, bytes) else b""
            if not is_problem(headers):
                _request(request, native)
                answer = self.transport.handover.replaced(native, status, headers, body[:HELD_BODY_LIMIT])
                self.transport.leave(exchange)
                return self._response(answer)  # (a response middleware's return value replaces the response)
        if "x-request-id" not in response.headers:
            response.headers["X-Request-ID"] = exchange.request_id.decode("latin-1")
        self.transport.leave(exchange)
        return None  # the response, as it is: a returned one would end the response middleware

    def _response(self, answer: Answer) -> Any:
        """The answer as Sanic's response (its media type apart from its headers, as Sanic keeps it)."""
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in answer.headers]
        media_type = headers[0][1]  # the answer's first header is its media type
        return self.response_class(
            answer.body, status=answer.status, headers=self.header_class(headers[1:]), content_type=media_type
        )

    async def failed(self, request: Any, exception: BaseException) -> None:
        """`http.lifecycle.exception`: an exception after the response started is logged here, once."""
        native = getattr(request.ctx, "problemdetails", None) if request is not None else None
        stream = getattr(request, "stream", None)
        if native is None or stream is None or not isinstance(exception, Exception):
            return
        if stream.stage.name != "HANDLER":  # Sanic's `Stage.HANDLER`: nothing of the response went out
            # RFC 9110 has no way to take back a status line: Sanic ends the connection, and the
            # client sees truncation. Its own two records of it are dropped (`_Aborted`).
            self.transport.responder.log_exception(
                exception, "exception after the response started; aborting", _request(request, native)
            )
            exchange = exchange_of(native)
            if exchange is not None:  # the mark `_Aborted` reads (the response middleware ran already)
                exchange.debugged = exception
            # Sanic's own server would end the chunked body as if it were whole: its connection is closed.
            # Under ASGI, Sanic returns with the body unfinished, and the server aborts the connection.
            if not request.app.asgi:
                request.transport.close()


def _request(request: Any, native: MutableMapping[str, Any]) -> Request:
    """The request's facts for the responder: its method, path and query added to the scope, once, and read.

    The scope holds only the headers (`TextFields`) on the happy path: Sanic's
    request reads each of the others anew (`request.path` decodes its URL).
    """
    if "method" not in native:
        path = request.path
        native["method"] = request.method
        native["path"] = unquote(path) if "%" in path else path  # decoded, as ASGI's is (`instance` quotes it)
        native["query_string"] = request.query_string.encode("latin-1", "replace")
    return text_request(native, lambda name: request.headers.getall(name, ()))


class _Aborted(logging.Filter):
    """Drops Sanic's own records of an exception the layer logged after the response started."""

    def filter(self, record: logging.LogRecord) -> bool:
        exchange = exchange_of(serving.get())
        if exchange is None or exchange.debugged is None:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is exchange.debugged or record.getMessage().startswith("The error response will not be sent"))
