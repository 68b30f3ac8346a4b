"""BlackSheep: handlers in `app.exceptions_handlers` answer; a middleware of the app's carries the request.

BlackSheep looks a handler up along the exception's MRO, except for its own
`HTTPException`s, which it looks up by class up to `HTTPException`, then by
status (and otherwise renders as the bare status phrase, dropping their
message). The hand-over registers its handler for `Exception`, chained to the
one the app registered before (kept, never replaced: it gets every crash, and
a 500 it answers is that crash, logged once here), and for each error status
that has no handler of yours. It answers a problem, a mapped exception or an
`HTTPException` with the problem's response; a crash is decided and logged
here and answered with the 500 problem, or, with `show_error_details` on and a
browser asking (`Accept: text/html`), with BlackSheep's own error details page.
BlackSheep's own records of the exceptions handed over ("Unhandled exception",
"Handled error") are dropped: the layer's record is the one.

Installed (`problemdetails.install(app, ...)`), the request layer is the first
of the app's middlewares (`app.middlewares`): it gives each request its id (an
outer layer's when one is outside), puts the hand-over in the ASGI scope, runs
BlackSheep's exception handling inside it so that every answer passes through
it, rewrites the error pages BlackSheep or a handler rendered, and adds
`X-Request-ID` to every response. So `blacksheep.testing.TestClient(app)` and
any ASGI server running the app object answer with problems.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from problemdetails import _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import header, serving
from problemdetails._decider import HELD_BODY_LIMIT, client_detail, problem_for_status
from problemdetails._exchange import Exchange, exchange_of
from problemdetails._handovers.base import Framework, HandOver, handover_of
from problemdetails._problem import Problem
from problemdetails._request import request_of
from problemdetails._responder import is_problem, with_answer
from problemdetails._response import choose_media_type

if TYPE_CHECKING:
    from problemdetails._transport import Transport

__all__ = ["BlackSheep"]

Handler = Callable[[Any, Any, Exception], Awaitable[Any]]
# BlackSheep frames a response from its content (`Content-Type`, `Content-Length`): never from its headers.
_FRAMED = frozenset({b"content-type", b"content-length"})


def _handler(previous: Handler | None) -> Handler:
    """The hand-over's exception handler; `previous` is the one the app registered for the same key, if any."""

    async def handle(app: Any, request: Any, exc: Exception) -> Any:
        scope = request.scope
        handover = handover_of(scope)
        if handover is None:  # no layer serves this request: what BlackSheep would do
            return await _unserved(previous, app, request, exc)
        problem = handover.claim(scope, exc)
        if problem is None:
            if previous is not None:
                response = await previous(app, request, exc)
                if response is not None and response.status == 500:
                    handover.keep(scope, exc)  # the app's handler answered the crash: logged once, here
                return response
            handover.keep(scope, exc)
            if app.show_error_details and choose_media_type(request_of(scope).accept) == "html":
                # BlackSheep's own error details page, for the developer at a browser.
                return app.server_error_details_handler.produce_response(request, exc)
            problem = exchange_of(scope).problem  # type: ignore[union-attr]
            assert problem is not None  # the hook kept the crash
        return _response(scope, handover, problem)

    return handle


def _response(scope: MutableMapping[str, Any], handover: HandOver, problem: Problem) -> Any:
    """The problem's response through BlackSheep's own; the layer gives it the answer's headers on its way out."""
    from blacksheep import Content, Response

    # RFC 9110 §9.3.2: a HEAD response has GET's headers, `Content-Length` included. BlackSheep
    # frames a response from its content, so it gets GET's body: the server sends none of it.
    status, headers, body = handover.response(scope, problem, head_body=True)
    return Response(status, content=Content(headers[0][1], body))


async def _unserved(previous: Handler | None, app: Any, request: Any, exc: Exception) -> Any:
    from blacksheep import Response
    from blacksheep.exceptions import HTTPException

    if previous is not None:
        return await previous(app, request, exc)
    if isinstance(exc, HTTPException):
        return Response(exc.status)
    return await app.handle_internal_server_error(request, exc)


class _Handed(logging.Filter):
    """Drops BlackSheep's own records of an exception it handed over while a layer serves the request."""

    MESSAGES = frozenset({'Unhandled exception - "%s %s"', 'Handled error: "%s %s". %s', 'HTTP %s - "%s %s". %s'})

    def filter(self, record: logging.LogRecord) -> bool:
        return not (exchange_of(serving.get()) is not None and record.msg in self.MESSAGES)


_HANDED = _Handed()


class BlackSheep(Framework):
    module = "blacksheep"
    apps = frozenset({"blacksheep.server.application.Application"})

    def install(self, app: Any, handover: HandOver) -> None:
        registry = app.exceptions_handlers
        current = registry.get(Exception)
        if getattr(current, "__module__", None) == __name__:
            return  # installed already: a guard around an installed app
        registry[Exception] = _handler(current)
        for status in range(400, 600):
            registry.setdefault(status, _handler(None))
        if _HANDED not in app.logger.filters:
            app.logger.addFilter(_HANDED)

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """The layer, first of the app's middlewares (`problemdetails.install`)."""
        from blacksheep.middlewares import MiddlewareCategory

        from problemdetails._transport import Transport

        if any(isinstance(item.middleware, _Layer) for item in app.middlewares.items()):
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        if app.started:
            raise RuntimeError(f"install problem details before the {type(app).__name__} starts")
        transport = Transport(app, **options)  # its hand-over hooks the app's exception handlers
        # First of all: the earliest category, before any priority a middleware of the app's may take.
        app.middlewares.append(_Layer(app, transport), MiddlewareCategory.INIT, -(2**31))

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from blacksheep.exceptions import HTTPException

        if not isinstance(exc, HTTPException) or exc.status < 400:
            return None
        message = str(exc)
        try:  # BlackSheep's default messages ("Resource not found", "HTTP exception") are no detail
            default = str(type(exc)())  # type: ignore[call-arg]  # subclasses take no status
        except TypeError:
            default = "HTTP exception"
        given = None if message == default else message
        return problem_for_status(catalog, exc.status, client_detail(exc.status, given))


class _Layer:
    """The request layer inside a BlackSheep app, as its first middleware; over the middleware's responder."""

    def __init__(self, app: Any, transport: Transport) -> None:
        self.app = app
        self.transport = transport

    async def __call__(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        scope = request.scope
        exchange = self.transport.enter(scope)
        request_id = exchange.request_id
        token = serving.set(scope)  # `current_request_id()` for the app's own code
        try:
            docs = self._docs(request, scope)
            if docs is not None:
                return docs
            try:
                response = await handler(request)
            except Exception as exc:
                # BlackSheep's own exception path (the app's handlers and the hand-over's), run inside
                # the layer, so that its answer comes back through here as every other response does.
                response = await self.app.handle_request_handler_exception(request, exc)
            return self._leave(scope, response, request_id)
        finally:
            serving.reset(token)
            self.transport.leave(exchange)

    def _docs(self, request: Any, scope: MutableMapping[str, Any]) -> Any:
        docs = self.transport.docs
        path: str = scope.get("path", "")
        if docs is None or request.method not in ("GET", "HEAD") or not path.startswith(docs.path):
            return None
        languages = header(scope, "accept-language", combined=True) or ""
        answer = docs.response(path[len(docs.path) :], scope.get("query_string", b""), languages)
        if answer is None:
            return None
        from blacksheep import Content, Response

        status, headers, body = answer
        response = Response(status, content=Content(dict(headers).get(b"content-type", b"text/html"), body))
        _set(response, [*headers, (b"x-request-id", _exchange(scope).request_id)])
        return response

    def _leave(self, scope: MutableMapping[str, Any], response: Any, request_id: bytes) -> Any:
        if response is None:  # what BlackSheep makes of a handler that returns nothing
            from blacksheep import Response

            response = Response(204)
        status = response.status
        if status >= 400:
            answered = _exchange(scope).answered
            if answered is not None and answered[0] == status:
                # A handler's problem response: the answer's headers, then the framework's others.
                _set(response, with_answer(answered, _headers(response)))
                _telemetry.relabel(scope, status)
                return response
            replace = self.transport.rewrite_error_responses and not is_problem(_headers(response))
            if replace and not self._debug_page(scope, status):
                return self._replace(scope, response)
            if replace:  # BlackSheep's error details page is the answer: a guard outside sends it as it is
                response.add_header(b"X-Request-ID", request_id)
                _exchange(scope).answered = status, _headers(response)
                return response
        if not response.has_header(b"x-request-id"):
            response.add_header(b"X-Request-ID", request_id)
        self._watch(scope, response)
        return response

    def _watch(self, scope: MutableMapping[str, Any], response: Any) -> None:
        """A streamed body's failure, once the response started, is logged before the server aborts."""
        from blacksheep import StreamedContent

        content = response.content
        if not isinstance(content, StreamedContent):
            return
        responder = self.transport.responder

        async def watched() -> AsyncIterator[bytes]:
            try:
                async for chunk in content.generator():
                    yield chunk
            except Exception as exc:
                # RFC 9110 has no way to take back a status line: the server aborts, the client sees truncation.
                responder.log_exception(exc, "exception after the response started; aborting", request_of(scope))
                raise

        response.content = StreamedContent(content.type, watched)

    def _debug_page(self, scope: MutableMapping[str, Any], status: int) -> bool:
        """BlackSheep's error details page goes to a browser with `show_error_details` on, for a crash."""
        decided = _exchange(scope).problem
        if not (self.app.show_error_details and status == 500 and decided is not None):
            return False
        return decided.status == 500 and choose_media_type(request_of(scope).accept) == "html"

    def _replace(self, scope: MutableMapping[str, Any], response: Any) -> Any:
        """The error page BlackSheep or a handler rendered, replaced by its problem (the one a handler decided)."""
        from blacksheep import Content, StreamedContent

        content = response.content
        # A streamed page is not read: its status's problem answers, with no message.
        readable = content is not None and not isinstance(content, StreamedContent) and content.body
        body = bytes(content.body[:HELD_BODY_LIMIT]) if readable else b""
        status, headers, payload = self.transport.handover.replaced(scope, response.status, _headers(response), body)
        response.status = status  # the same response: its cookies stay
        response.content = Content(headers[0][1], payload)  # HEAD: see `_response`
        _set(response, headers)
        _telemetry.relabel(scope, status)
        return response


def _exchange(scope: MutableMapping[str, Any]) -> Exchange:
    exchange = exchange_of(scope)
    assert exchange is not None  # the layer made it
    return exchange


def _headers(response: Any) -> list[tuple[bytes, bytes]]:
    """A response's headers, lowercase, with the `Content-Type` its content gives it."""
    headers = [(key.lower(), value) for key, value in response.headers]
    content = response.content
    if content is not None and content.type and not any(key == b"content-type" for key, _ in headers):
        headers.append((b"content-type", content.type))
    return headers


def _set(response: Any, headers: list[tuple[bytes, bytes]]) -> None:
    """Make `headers` a response's only headers, but for those BlackSheep frames from its content."""
    for key in {key.lower() for key, _ in response.headers}:
        response.remove_header(key)
    for key, value in headers:
        if key.lower() not in _FRAMED:
            response.add_header(key, value)
