"""Falcon (WSGI and ASGI): error handlers for `Exception` and `HTTPError` answer; a middleware component carries it.

Falcon looks a handler up along the exception's MRO, so yours for narrower
classes still win. The hand-over's handler answers a problem, a mapped
exception or a Falcon `HTTPError` (router 404, 405 with `Allow`,
`HTTPBadRequest` ...) with the problem's response. A crash (anything else)
goes to the `Exception` handler the app registered before, when it has one
(chained to, never replaced; a 500 it answers is the crash, logged once here);
otherwise it is decided and logged here, and answered with the 500 problem.
An `HTTPError` handler of the app's own stays: the page it renders is rewritten
like any other. Falcon has no debug page of its own: a crash is always the
problem (with the `debug` member when the middleware's `debug` is on).

Installed (`problemdetails.install(app, ...)`), the request layer is a
middleware component, first in the app's list so that it runs before and
after all the others: it gives each request its id (an outer layer's when one
is outside), puts the hand-over in the WSGI environ or ASGI scope where these
handlers find it, rewrites the error pages Falcon or a handler rendered, and
adds `X-Request-ID` to every response. So `falcon.testing.TestClient(app)`,
`wsgiref`'s server and any WSGI or ASGI server running the app object answer
with problems.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from problemdetails import _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import serving
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._exchange import Exchange, exchange_of
from problemdetails._handovers.base import Framework, HandOver, handover_of, jsonschema_item, watched_async
from problemdetails._member_types import ErrorItem
from problemdetails._problem import Problem
from problemdetails._request import request_of
from problemdetails._responder import is_problem, with_answer

if TYPE_CHECKING:
    from problemdetails._transport import Transport

__all__ = ["Falcon"]

Handler = Callable[..., Any]


def _native(req: Any) -> MutableMapping[str, Any]:
    """A request's ASGI scope (`falcon.asgi.Request`) or WSGI environ (`falcon.Request`)."""
    scope = getattr(req, "scope", None)
    return scope if scope is not None else req.env  # type: ignore[no-any-return]


def _exchange(native: MutableMapping[str, Any]) -> Exchange:
    exchange = exchange_of(native)
    assert exchange is not None  # the layer made it
    return exchange


def _kept(native: MutableMapping[str, Any]) -> Problem:
    problem = _exchange(native).problem
    assert problem is not None  # the hook kept the crash
    return problem


def _answered(native: MutableMapping[str, Any]) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    return _exchange(native).answered


def _answer(native: MutableMapping[str, Any], resp: Any, handover: HandOver, problem: Problem) -> None:
    """Answer with `problem` through Falcon's response; the layer gives it the answer's headers on its way out."""
    answer = handover.response(native, problem)
    resp.status = answer.status
    resp.content_type = answer.media_type
    resp.text = resp.media = resp.stream = None
    resp.data = answer.body


def _decided(native: MutableMapping[str, Any], resp: Any, exc: Exception, own: Handler | None) -> bool:
    """The part of a handler that is the same under WSGI and ASGI, before the app's own handler runs.

    True when `exc` is answered here (a problem, a mapped exception, an HTTP
    error, or a crash with no handler of the app's); False when the app's own
    `Exception` handler is to answer the crash.
    """
    handover = handover_of(native)
    assert handover is not None
    problem = handover.claim(native, exc)
    if problem is None:
        if own is not None:
            return False
        handover.keep(native, exc)  # decided and logged once, here: Falcon's own record of it is not written
        problem = _kept(native)
    _answer(native, resp, handover, problem)
    return True


def _handled(native: MutableMapping[str, Any], resp: Any, exc: Exception) -> None:
    """The app's own `Exception` handler answered a crash: a 500 it answered is that crash, logged once here."""
    import falcon

    handover = handover_of(native)
    if handover is not None and falcon.http_status_to_code(resp.status) == 500:
        handover.keep(native, exc)


def _wsgi_handler(previous: Handler | None, own: Handler | None) -> Handler:
    """The handler of a `falcon.App`; `previous` is the one it took the place of, `own` the app's (not Falcon's)."""

    def handle(req: Any, resp: Any, ex: Exception, params: Any) -> None:
        native = _native(req)
        if handover_of(native) is None:  # no layer serves this request: what Falcon would do
            if previous is None:
                raise ex
            previous(req, resp, ex, params)
        elif not _decided(native, resp, ex, own):
            assert own is not None
            own(req, resp, ex, params)
            _handled(native, resp, ex)

    return handle


def _asgi_handler(previous: Handler | None, own: Handler | None) -> Handler:
    """The handler of a `falcon.asgi.App` (a coroutine function, as Falcon requires)."""

    async def handle(req: Any, resp: Any, ex: Exception, params: Any, ws: Any = None) -> None:
        native = _native(req)
        kwargs = {} if ws is None else {"ws": ws}
        if ws is not None or handover_of(native) is None:  # a WebSocket, or no layer: what Falcon would do
            if previous is None:
                raise ex
            await previous(req, resp, ex, params, **kwargs)
        elif not _decided(native, resp, ex, own):
            assert own is not None
            await own(req, resp, ex, params)
            _handled(native, resp, ex)

    return handle


def _media_errors(exc: Exception) -> list[ErrorItem] | None:
    """The field of a `MediaValidationError` (Falcon's jsonschema validator) as an `errors` item with a pointer."""
    import falcon

    cause = exc.__cause__
    if not isinstance(exc, falcon.MediaValidationError) or getattr(cause, "absolute_path", None) is None:
        return None
    return [jsonschema_item(cause)]


class Falcon(Framework):
    module = "falcon"
    apps = frozenset({"falcon.app.App"})

    def install(self, app: Any, handover: HandOver) -> None:
        import falcon
        import falcon.asgi

        make = _asgi_handler if isinstance(app, falcon.asgi.App) else _wsgi_handler
        # Falcon has no public reading of its handlers: its registry is the only place to find the app's own.
        registry: dict[type[Exception], Handler] = app._error_handlers
        current = registry.get(Exception)
        if getattr(current, "__module__", None) == __name__:
            return  # installed already: a guard around an installed app
        # Falcon's defaults are methods of the app itself; any other handler is the app's own.
        own = current if current is not None and getattr(current, "__self__", None) is not app else None
        app.add_error_handler(Exception, make(current, own))
        http_error = registry.get(falcon.HTTPError)
        if http_error is None or getattr(http_error, "__self__", None) is app:
            app.add_error_handler(falcon.HTTPError, make(http_error, None))
        # An `HTTPError` handler of the app's own stays: what it renders is rewritten by the layer.

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """The layer, a middleware component, first in the app's middleware (`problemdetails.install`)."""
        import falcon.asgi

        from problemdetails._transport import Transport

        # Falcon's `add_middleware` appends, and its middleware list is private: the layer goes
        # first, so that it runs before the app's own components and after them on the way out.
        components: list[object] = app._unprepared_middleware
        if any(isinstance(component, _Layer) for component in components):
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        transport = Transport(app, **options)  # its hand-over hooks the app's error handlers
        layer = _ASGILayer(transport) if isinstance(app, falcon.asgi.App) else _WSGILayer(transport)
        components.insert(0, layer)
        app.add_middleware([])  # Falcon prepares its middleware again from the list

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        import falcon

        if not isinstance(exc, falcon.HTTPError):
            return None
        status = exc.status_code
        problem = problem_for_status(catalog, status, client_detail(status, exc.description), _media_errors(exc))
        problem.headers.update(exc.headers or {})  # `Allow` on a 405, `WWW-Authenticate`, `Retry-After`
        return problem

    def rendered(self, status: int, document: object, catalog: Catalog) -> Problem | None:
        """Falcon's own error page, `{"title", "description"}`: its description as the message."""
        if not isinstance(document, dict) or "detail" in document or "title" not in document:
            return None
        return problem_for_status(catalog, status, client_detail(status, document.get("description")))


class _Layer:
    """The request layer inside a Falcon app, as a middleware component; over the middleware's responder.

    `process_request` gives the request its id and hand-over (and serves
    `docs_path`); `process_response` rewrites an error page that is no
    problem, gives a handler's problem response the answer's headers, and adds
    `X-Request-ID` to every response.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def enter(self, req: Any, resp: Any) -> None:
        native = _native(req)
        transport = self.transport
        # `current_request_id()` until the response is done
        transport.enter(native).token = serving.set(native)
        docs = transport.docs
        if docs is not None and req.method in ("GET", "HEAD") and req.path.startswith(docs.path):
            languages = req.get_header("Accept-Language") or ""
            answer = docs.response(req.path[len(docs.path) :], req.query_string.encode("latin-1"), languages)
            if answer is not None:
                status, headers, body = answer
                resp.status = status
                resp.data = b"" if req.method == "HEAD" else body
                _set(resp, headers)
                resp.complete = True  # Falcon routes no further

    def needs_body(self, req: Any, resp: Any) -> bool:
        """The response is an error page to rewrite: its body is to be read."""
        import falcon

        native = _native(req)
        status = falcon.http_status_to_code(resp.status)
        if status < 400 or not self.transport.rewrite_error_responses:
            return False
        answered = _answered(native)
        return (answered is None or answered[0] != status) and not is_problem(_headers(resp))

    def leave(self, req: Any, resp: Any, body: bytes | None) -> None:
        """The response on its way out: `body` is the error page's, when `needs_body` said to read it."""
        import falcon

        native = _native(req)
        try:
            status = falcon.http_status_to_code(resp.status)
            answered = _answered(native)
            if body is not None:
                self._replace(native, resp, status, body)
            elif status >= 400 and answered is not None and answered[0] == status:
                # A handler's problem response: the answer's headers, then the framework's others.
                _set(resp, with_answer(answered, _headers(resp)))
                _telemetry.relabel(native, status)
            else:
                if "x-request-id" not in resp.headers:
                    resp.set_header("X-Request-ID", _exchange(native).request_id.decode())
                if resp.stream is not None:
                    resp.stream = self.watched(resp.stream, native)
        finally:
            exchange = _exchange(native)
            if exchange.token is not None:
                serving.reset(exchange.token)
                exchange.token = None
            self.transport.leave(exchange)

    def watched(self, stream: Any, native: MutableMapping[str, Any]) -> Any:
        """`stream`, its failure after the response started logged before it goes on to the server (which aborts)."""
        return stream

    def _failed(self, exc: Exception, native: MutableMapping[str, Any]) -> None:
        # RFC 9110 has no way to take back a status line: the server aborts, the client sees truncation.
        self.transport.responder.log_exception(
            exc, "exception after the response started; aborting", request_of(native)
        )

    def _replace(self, native: MutableMapping[str, Any], resp: Any, status: int, body: bytes) -> None:
        """The error page Falcon or a handler rendered, replaced by its problem (the one a handler decided, if any)."""
        status, headers, content = self.transport.handover.replaced(native, status, _headers(resp), body)
        resp.status = status
        resp.text = resp.media = resp.stream = None
        # HEAD: the same status and headers (Content-Length included, which Falcon keeps), no body.
        resp.data = b"" if request_of(native).method == "HEAD" else content
        _set(resp, headers)
        _telemetry.relabel(native, status)


class _WSGILayer(_Layer):
    """The layer in a `falcon.App`."""

    def watched(self, stream: Any, native: MutableMapping[str, Any]) -> Any:
        # A file-like stream (`read()`) Falcon reads itself, or hands to the server's `wsgi.file_wrapper`.
        return stream if hasattr(stream, "read") else _WatchedStream(stream, self, native)

    def process_request(self, req: Any, resp: Any) -> None:
        self.enter(req, resp)

    def process_response(self, req: Any, resp: Any, resource: object, req_succeeded: bool) -> None:
        body = _body(resp, resp.render_body) if self.needs_body(req, resp) else None
        self.leave(req, resp, body)


class _ASGILayer(_Layer):
    """The layer in a `falcon.asgi.App` (coroutine methods, as Falcon requires)."""

    def watched(self, stream: Any, native: MutableMapping[str, Any]) -> Any:
        if not hasattr(stream, "__aiter__"):
            return stream
        return watched_async(stream, functools.partial(self._failed, native=native))

    async def process_request(self, req: Any, resp: Any) -> None:
        scope = req.scope
        if not isinstance(scope.get("headers"), list):
            # The ASGI spec's `headers` is any iterable: one that reads once (falcon.testing sends an
            # iterator) was read by Falcon already. Its reading of them stands for them here.
            scope["headers"] = [(key.encode("latin-1"), value.encode("latin-1")) for key, value in req.headers.items()]
        self.enter(req, resp)

    async def process_response(self, req: Any, resp: Any, resource: object, req_succeeded: bool) -> None:
        body = None
        if self.needs_body(req, resp):
            render: Callable[[], Awaitable[bytes | None]] = resp.render_body
            body = b"" if resp.stream is not None else await _rendered(render)
        self.leave(req, resp, body)


class _WatchedStream:
    """A WSGI body stream whose failure is logged once it started; its `close()` is the stream's."""

    __slots__ = ("chunks", "layer", "native")

    def __init__(self, chunks: Iterable[bytes], layer: _Layer, native: MutableMapping[str, Any]) -> None:
        self.chunks, self.layer, self.native = chunks, layer, native

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
        except Exception as exc:
            self.layer._failed(exc, self.native)
            raise

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()  # PEP 3333: the server calls the body's `close()`, which is the stream's


def _body(resp: Any, render: Callable[[], bytes | None]) -> bytes:
    """An error page's body; a streamed one is not read (its status's problem answers, with no message)."""
    if resp.stream is not None:
        return b""
    try:
        return render() or b""
    except Exception:  # media the app's handler could not serialize: no message to keep
        return b""


async def _rendered(render: Callable[[], Awaitable[bytes | None]]) -> bytes:
    try:
        return await render() or b""
    except Exception:
        return b""


def _headers(resp: Any) -> list[tuple[bytes, bytes]]:
    return [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in resp.headers.items()]


def _set(resp: Any, headers: list[tuple[bytes, bytes]]) -> None:
    """Make `headers` a response's only headers (its cookies stay: Falcon keeps them apart)."""
    for key in resp.headers:
        resp.delete_header(key)
    for key, value in headers:
        resp.append_header(key.decode("latin-1"), value.decode("latin-1"))
