"""`ProblemMiddleware`: every error of any ASGI app becomes a problem response.

The ASGI transport of the responder (`_responder.py`). Pure ASGI and
stateless: per-request state lives in locals of `__call__`. On the happy path
the only work is wrapping `send` and adding `X-Request-ID`.

    exception raised before the response started  -> its problem response
    error response the app rendered itself        -> held, replaced by the problem
      (text, empty or {"detail": ...} 4xx/5xx)        for its status
    exception after the response started          -> logged; connection aborted
    exception after the response completed        -> logged (background task)
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Sequence
from typing import Any

import anyio.to_thread

from problemdetails import _request_id, _telemetry
from problemdetails._context import serving
from problemdetails._grammar import is_request_id
from problemdetails._problem import Problem
from problemdetails._responder import (
    ANSWERED,
    HANDOVER,
    HELD_BODY_LIMIT,
    REQUEST_ID,
    ProblemHeaders,
    Request,
    is_disconnect,
    is_problem,
    request_of,
    unwrap,
    with_answer,
)
from problemdetails._transport import Transport
from problemdetails._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ProblemMiddleware"]


class _Sent:
    """An awaitable that is already done: what `send` returns for a message held back."""

    __slots__ = ()
    # `await` calls this without `self` (a partial is no descriptor) and gets an
    # empty iterator: done, with no Python frame per held message.
    __await__ = functools.partial(iter, ())


_SENT = _Sent()


class _Held:
    """An error response the app rendered itself, kept back to be replaced."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.headers = headers
        self.body = bytearray()


def _relabelled(sent: Awaitable[None], scope: Scope, status: int) -> Awaitable[None]:
    """Send a problem response's start a framework built, then put a 5xx's code back on the span (`relabel`)."""
    return _sent_then_relabelled(sent, scope, status) if status >= 500 else sent


async def _sent_then_relabelled(sent: Awaitable[None], scope: Scope, status: int) -> None:
    await sent
    _telemetry.relabel(scope, status)


class ProblemMiddleware(Transport):
    """Wrap any ASGI app so that every error it produces is an RFC 9457 problem.

    One line, outermost, so it also sees errors from other middleware:

    ```python
    app = ProblemMiddleware(Starlette(routes=...), catalog=catalog)
    ```

    It works the same around Starlette, FastAPI, Litestar, Django
    (`get_asgi_application()`), Quart, Falcon (`falcon.asgi.App`), BlackSheep
    and any other ASGI app. For a WSGI app, use `WSGIProblemMiddleware`.

    - At construction it hooks into the wrapped framework's own error handling
      (its exception-handler registry, error hook or got-request-exception
      signal), so problems raised in views, mapped exceptions and crashes all
      reach it; `integrate=False` leaves the app untouched.
    - A raised `Problem` becomes its response; any other exception becomes the
      catalog's 500 problem (`internal`) with nothing of the exception in it,
      logged at ERROR with the request id. `debug=True` adds a `debug` member.
    - `exception_map` maps your (or a library's) exception classes to a slug
      or to a function returning a problem; it is looked up along the MRO.
    - Framework errors (router 404 and 405, `HTTPException`s, validation
      errors) and error pages the app rendered as text, HTML, `{"detail": ...}`
      or empty become the catalog's problem for their status
      (`catalog.status_slugs`), keeping `Allow`, `WWW-Authenticate`,
      `Retry-After` and other non-representation headers.
    - Every response carries `X-Request-ID` (a valid incoming one, else new).
    - `instance` is the percent-encoded request path (no query string) unless
      the problem sets one; pass `instance=None` to leave it out, or a function
      of the ASGI scope returning a URI reference.
    - `profile=` (a `WireProfile`) keeps an API's legacy error shape for
      clients that don't send `Accept: application/problem+json`: migrate
      to RFC 9457 one client at a time.
    - `docs_path="/errors/"` serves the catalog's doc site there (a page per
      slug, the index, the JSON Schemas), so type URIs whose `base_uri` points
      at the service resolve. It is rendered from `catalog` on first use, or
      read from `docs_dir`, a folder `problemdetails build` wrote.
    - Each problem response is one record of the `problemdetails` logger (or
      `logger`), with `problem_code`, `problem_status`, `request_id` and
      `trace_id` on it; `problemdetails.current_request_id()` is the request's
      id inside the app. Problems carry `trace_id` from the active
      OpenTelemetry span or the request's `traceparent`; put OpenTelemetry's
      middleware outside this one. `request_id_from_trace=True` makes the
      trace id the request id when the client sent none.
    - `enrich` is a function of the problem and the ASGI scope that may return
      it with more members and headers (`problem.with_members(...)`) before it
      is written.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:  # lifespan and anything newer pass through untouched
                await self.app(scope, receive, send)
            return
        # The happy path is this method alone: keep it lean (`make bench` measures it).
        # A layer outside (the guard around an app that has one installed) chose the id already.
        raw_id = scope.get(REQUEST_ID, b"")
        if not raw_id:
            for key, value in scope["headers"]:
                if key == b"x-request-id":
                    raw_id = value if is_request_id(value) else b""
                    break
        if not raw_id:
            raw_id = self._trace_request_id(scope) if self.request_id_from_trace else next(_request_id.request_ids)
        scope[HANDOVER], scope[REQUEST_ID] = self.handover, raw_id
        # `current_request_id()` for the app's own code, for the length of the request.
        token = serving.set(scope)
        try:
            docs = self.docs
            if docs is not None and scope["path"].startswith(docs.path) and await self._docs(scope, send, raw_id):
                return
            # What the response has come to: None before it starts; a `_Held` error
            # response being replaced; else the last message sent, which tells a
            # started response (a start, or a body with `more_body`) from a complete one.
            last: Message | _Held | None = None

            # A plain function returning `send`'s awaitable, not a coroutine function: no
            # extra coroutine per message on the happy path. What it reads is bound as
            # defaults, which is cheaper per request than closure cells.
            def wrapped_send(
                message: Message,
                send: Send = send,
                raw_id: bytes = raw_id,
                rewrite: bool = self.rewrite_error_responses,
            ) -> Awaitable[None]:
                nonlocal last
                if last is None:
                    if message["type"] == "http.response.start":
                        headers = message.get("headers", ())
                        if headers.__class__ is not list and not isinstance(headers, (list, tuple)):
                            # The ASGI spec's `headers` is an "Iterable[[byte string, byte string]]": one
                            # that reads once (Sanic sends a generator) is read here, once, for every path.
                            headers = list(headers)
                            message = {**message, "headers": headers}
                        if message["status"] >= 400:
                            if headers.__class__ is ProblemHeaders:  # a framework handler sent the problem: it is final
                                last = message
                                return _relabelled(send(message), scope, message["status"])
                            answered = scope.get(ANSWERED)  # a hook's problem response: it gets the answer's headers
                            if answered is not None and answered[0] == message["status"]:
                                last = message = {**message, "headers": with_answer(answered, headers)}
                                return _relabelled(send(message), scope, message["status"])
                            if rewrite and not is_problem(headers):
                                last = _Held(message["status"], list(headers))
                                return _SENT
                        for key, _ in headers:  # ASGI header names are lowercase
                            if key == b"x-request-id":
                                break
                        else:
                            # A new message: the app's may be a constant it sends again.
                            message = dict(message)
                            message["headers"] = [*headers, (b"x-request-id", raw_id)]
                        last = message
                    return send(message)
                if type(last) is _Held:
                    if message["type"] == "http.response.body" and len(last.body) < HELD_BODY_LIMIT:
                        last.body += message.get("body", b"")[: HELD_BODY_LIMIT - len(last.body)]
                    return _SENT
                last = message
                return send(message)

            try:
                await self.app(scope, receive, wrapped_send)
            except Exception as exc:
                await self._failed(exc, scope, receive, send, last, raw_id.decode())
                return
            if last is None or type(last) is _Held:
                request = request_of(scope, raw_id.decode())
                kept: Sequence[tuple[bytes, bytes]]
                if last is None:
                    problem, kept = self.responder.unanswered(request), ()
                else:
                    problem, kept = (
                        self.responder.replacement(last.status, last.headers, bytes(last.body), request),
                        last.headers,
                    )
                await self._send(problem, request, kept, scope, receive, send)
        finally:
            serving.reset(token)

    def _respond(self, exc: Exception, scope: Scope) -> ASGIApp:
        """An ASGI app that sends the problem response for `exc`: what a framework's exception handler returns."""
        request = request_of(scope, scope[REQUEST_ID].decode())
        return functools.partial(self._send, self.responder.problem_for(exc, request), request, ())

    async def _failed(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send, last: Message | _Held | None, request_id: str
    ) -> None:
        """The app raised: answer with its problem, or abort if the response has started."""
        server = (send, receive)
        cause = unwrap(exc, server)
        request = request_of(scope, request_id)
        if last is None or isinstance(last, _Held):
            if is_disconnect(cause, server):
                self.responder.logger.debug("client disconnected request_id=%s", request_id)
                return
            problem = self.responder.raised(cause, request)
            await self._send(problem, request, last.headers if last else (), scope, None, send)
        elif last["type"] == "http.response.start" or last.get("more_body"):
            # RFC 9110 has no way to take back a status line: abort, so the
            # client sees a truncated response rather than a wrong one.
            if not is_disconnect(cause, server):
                self.responder.log_exception(exc, "exception after the response started; aborting", request)
            raise exc
        else:
            self.responder.log_exception(exc, "exception after the response was sent (background task?)", request)

    async def _send(
        self,
        problem: Problem,
        request: Request,
        kept: Any,
        scope: Scope,
        receive: Receive | None,
        send: Send,
    ) -> None:
        """Send `problem` as the response; an ASGI app once the first three are given (see `_respond`)."""
        status, headers, body = self.responder.respond(problem, request, kept)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        _telemetry.relabel(scope, status)
        # HEAD: the same status and headers (Content-Length included), no body.
        await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else body})

    async def _docs(self, scope: Scope, send: Send, request_id: bytes) -> bool:
        """Serve a file of the doc site under `docs_path`; False when there is none."""
        assert self.docs is not None
        if scope["method"] not in ("GET", "HEAD"):
            return False
        if self.docs.files is None:
            # Rendering a large catalog takes a while: not on the event loop.
            await anyio.to_thread.run_sync(self.docs.render)
        answer = self.docs.response(scope["path"][len(self.docs.path) :], scope.get("query_string", b""))
        if answer is None:
            return False
        status, headers, body = answer
        headers.append((b"x-request-id", request_id))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
        return True

    # -- WebSocket ----------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = "connecting"  # connecting -> accepted -> closed

        async def wrapped_send(message: Message) -> None:
            nonlocal state
            if message["type"] == "websocket.accept":
                state = "accepted"
            elif message["type"] in ("websocket.close", "websocket.http.response.start"):
                state = "closed"
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except Exception as exc:
            server = (send, receive)
            cause = unwrap(exc, server)
            if state == "closed" or is_disconnect(cause, server):
                self.responder.logger.info("websocket exception after close: %s", type(cause).__name__)
                return
            starlette = sys.modules.get("starlette.exceptions")
            if starlette is not None and isinstance(cause, starlette.WebSocketException):  # the app chose its code
                await send({"type": "websocket.close", "code": cause.code, "reason": cause.reason or ""})
                return
            request_id = next(
                (value for key, value in scope.get("headers", ()) if key == b"x-request-id" and is_request_id(value)),
                None,
            )
            request = request_of(scope, (request_id or _request_id.new_request_id()).decode())
            problem = self.responder.problem_for(cause, request)
            if state == "connecting" and "websocket.http.response" in scope.get("extensions", {}):
                # The ASGI denial extension: a real HTTP response, with every header a problem response has.
                status, headers, body = self.responder.respond(problem, request)
                await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
                await send({"type": "websocket.http.response.body", "body": body})
                return
            # The ScaiDrive API's convention: close code 4000 + status (4401, 4403,
            # 4429), the slug as reason (at most 123 bytes, RFC 6455 §5.5).
            reason = (problem.code or "").encode()[:123].decode(errors="ignore")
            await send({"type": "websocket.close", "code": 4000 + problem.status, "reason": reason})
