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
from collections.abc import Awaitable
from typing import cast

import anyio.to_thread

from problemdetails import _request_id, _telemetry
from problemdetails._context import header, serving
from problemdetails._decider import HELD_BODY_LIMIT
from problemdetails._exchange import EXCHANGE, Exchange
from problemdetails._grammar import is_request_id
from problemdetails._request import Request, request_of
from problemdetails._responder import Answer, is_problem, with_answer
from problemdetails._transport import Transport
from problemdetails._types import Message, Receive, Scope, Send

__all__ = ["ProblemMiddleware"]


class _Sent:
    """An awaitable that is already done: what `send` returns for a message held back."""

    __slots__ = ()
    # `await` calls this without `self` (a partial is no descriptor) and gets an
    # empty iterator: done, with no Python frame per held message.
    __await__ = functools.partial(iter, ())


_SENT = _Sent()


# What the response has come to, one of three named states, each with its data (`last`):
_WAITING = "waiting"  # nothing went to the server yet (`last`: nothing)
_HELD = "held"  # the app started an error page, kept back to be replaced (`last`: the `_Held` page)
_SENDING = "sending"  # its start went to the server (`last`: the last message, complete unless `more_body`)
_NOTHING: Message = {"type": ""}


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
        # A layer outside (the guard around an app that has one installed) made the exchange already.
        exchange = scope.get(EXCHANGE)
        made = exchange is None  # this layer releases what it made (`Exchange.release`)
        if exchange is None:
            raw_id = b""
            for key, value in scope["headers"]:
                if key == b"x-request-id":
                    raw_id = value if is_request_id(value) else b""
                    break
            if not raw_id:
                raw_id = self._trace_request_id(scope) if self.request_id_from_trace else next(_request_id.request_ids)
            exchange = scope[EXCHANGE] = Exchange()
            exchange.request_id, exchange.handover = raw_id, self.handover
        else:
            raw_id, exchange.handover = exchange.request_id, self.handover
        # `current_request_id()` for the app's own code, for the length of the request.
        token = serving.set(scope)
        try:
            docs = self.docs
            if docs is not None and scope["path"].startswith(docs.path) and await self._docs(scope, send, raw_id):
                return
            state = _WAITING
            last: Message | _Held = _NOTHING

            # A plain function returning `send`'s awaitable, not a coroutine function: no
            # extra coroutine per message on the happy path. What it reads is bound as
            # defaults, which is cheaper per request than closure cells.
            def wrapped_send(
                message: Message,
                send: Send = send,
                raw_id: bytes = raw_id,
                exchange: Exchange = exchange,
                rewrite: bool = self.rewrite_error_responses,
            ) -> Awaitable[None]:
                nonlocal state, last
                if state is _WAITING:
                    if message["type"] == "http.response.start":
                        headers = message.get("headers", ())
                        if headers.__class__ is not list and not isinstance(headers, (list, tuple)):
                            # The ASGI spec's `headers` is an "Iterable[[byte string, byte string]]": one
                            # that reads once (Sanic sends a generator) is read here, once, for every path.
                            headers = list(headers)
                            message = {**message, "headers": headers}
                        if message["status"] >= 400:
                            answered = exchange.answered  # a hook answered with its problem's response
                            if answered is not None and answered[0] == message["status"]:
                                if headers is not answered[1]:  # the framework's own: the answer's headers first
                                    message = {**message, "headers": with_answer(answered, headers)}
                                state, last = _SENDING, message
                                return _relabelled(send(message), scope, message["status"])
                            if rewrite and not is_problem(headers):
                                state, last = _HELD, _Held(message["status"], list(headers))
                                return _SENT
                        for key, _ in headers:  # ASGI header names are lowercase
                            if key == b"x-request-id":
                                break
                        else:
                            # A new message: the app's may be a constant it sends again.
                            message = dict(message)
                            message["headers"] = [*headers, (b"x-request-id", raw_id)]
                        state, last = _SENDING, message
                    return send(message)
                if state is _HELD:
                    held = cast(_Held, last)
                    if message["type"] == "http.response.body" and len(held.body) < HELD_BODY_LIMIT:
                        held.body += message.get("body", b"")[: HELD_BODY_LIMIT - len(held.body)]
                    return _SENT
                last = message
                return send(message)

            try:
                await self.app(scope, receive, wrapped_send)
            except Exception as exc:
                await self._failed(exc, scope, receive, send, state, last, raw_id.decode())
                return
            if state is _WAITING:
                request = request_of(scope, raw_id.decode())
                await self._send(self.responder.unanswered(request), request, scope, send)
            elif state is _HELD:
                held = cast(_Held, last)
                request = request_of(scope, raw_id.decode())
                answer = self.responder.rendered(held.status, held.headers, bytes(held.body), request)
                await self._send(answer, request, scope, send)
        finally:
            serving.reset(token)
            if made and exchange.request is not None:
                exchange.release()

    async def _failed(
        self,
        exc: Exception,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: str,
        last: Message | _Held,
        request_id: str,
    ) -> None:
        """The app raised: answer with its problem, or abort if the response has started."""
        responder = self.responder
        server = (send, receive)
        cause = responder.unwrap(exc, server)
        request = request_of(scope, request_id)
        if state is _WAITING or state is _HELD:
            if responder.is_disconnect(cause, server):
                responder.logger.debug("client disconnected request_id=%s", request_id)
                return
            answer = responder.raised(cause, request, last.headers if isinstance(last, _Held) else ())
            await self._send(answer, request, scope, send)
        elif isinstance(last, dict) and (last["type"] == "http.response.start" or last.get("more_body")):
            # RFC 9110 has no way to take back a status line: abort, so the
            # client sees a truncated response rather than a wrong one.
            if not responder.is_disconnect(cause, server):
                responder.log_exception(exc, "exception after the response started; aborting", request)
            raise exc
        else:
            responder.log_exception(exc, "exception after the response was sent (background task?)", request)

    @staticmethod
    async def _send(answer: Answer, request: Request, scope: Scope, send: Send) -> None:
        """Send a problem response the responder answered with."""
        status, headers, body = answer
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
        languages = header(scope, "accept-language", combined=True) or ""
        answer = self.docs.response(scope["path"][len(self.docs.path) :], scope.get("query_string", b""), languages)
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
            responder = self.responder
            server = (send, receive)
            cause = responder.unwrap(exc, server)
            if state == "closed" or responder.is_disconnect(cause, server):
                responder.logger.info("websocket exception after close: %s", type(cause).__name__)
                return
            chosen = responder.websocket_close(cause)  # the app chose its code (Starlette's `WebSocketException`)
            if chosen is not None:
                await send({"type": "websocket.close", "code": chosen[0], "reason": chosen[1]})
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
