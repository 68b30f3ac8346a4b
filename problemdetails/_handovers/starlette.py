"""Starlette and FastAPI: their exception-handler registry answers with the problem response at once.

Starlette answers a raised exception in `ExceptionMiddleware`, inside the
app's own middleware, with a handler from `app.exception_handlers`. The
hand-over registers one there for problems, `HTTPException`s (router 404 and
405 included), FastAPI's validation errors and the `exception_map`'s classes:
the problem response then takes the framework's ordinary handler path, through
the app's middleware (CORS headers and all), which is much cheaper than a
raise through every layer (`make bench`). Any other exception is a crash,
which Starlette answers in `ServerErrorMiddleware`, outside every middleware,
with the app's own handler for `Exception` or 500: a layer in the router
(`_Crashes`) runs that handler inside instead, while a middleware serves the
request, so its response goes out through the middleware like any other.

Installed inside the app (`problemdetails.install(app)`, or the app's own
`app.add_middleware(ProblemMiddleware, ...)`), the middleware is built by the
app with its stack, on the first request, and never sees the app object:

    ServerErrorMiddleware ─► ProblemMiddleware ─► your middleware ─► ExceptionMiddleware ─► router

What it finds below it is the stack's `ExceptionMiddleware`: the hand-over
registers its handlers there (the app's own still win) and reads `Allow` from
the router under it. A crash then never reaches `ServerErrorMiddleware`: it is
answered, and logged once, inside (by the app's crash handler, if it has one);
with the app's `debug` on, a browser gets Starlette's own debug page for it.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status, raised_through
from problemdetails._exchange import exchange_of
from problemdetails._grammar import is_request_id
from problemdetails._handovers.base import Framework, HandOver, handover_of, status_of, validation_problem
from problemdetails._problem import Problem
from problemdetails._request import Request, request_of
from problemdetails._request_id import new_request_id
from problemdetails._responder import Answer, is_problem
from problemdetails._response import choose_media_type
from problemdetails._types import Receive, Scope, Send

__all__ = ["Starlette", "starlette_exception_handlers"]


def starlette_exception_handlers(
    exception_map: Mapping[type[BaseException], object] | None = None,
) -> dict[Any, Callable[[Any, Exception], Any]]:
    """Starlette / FastAPI `exception_handlers` that answer with `ProblemMiddleware`'s problem responses.

    `ProblemMiddleware` installs them itself when it wraps a Starlette or
    FastAPI app. Pass them yourself when it cannot see the app (it wraps
    something that wraps the app, or was built with `integrate=False`):

    ```python
    app = ProblemMiddleware(
        Starlette(routes=[...], exception_handlers=starlette_exception_handlers()), catalog=catalog
    )
    ```

    Give it the middleware's `exception_map` too, so mapped exceptions take the same route.
    """
    return _handlers(exception_map, None)


def _handlers(
    exception_map: Mapping[type[BaseException], object] | None, installed: HandOver | None
) -> dict[Any, Callable[[Any, Exception], Any]]:
    """The handlers; those a middleware installed answer for it when the app runs without it (`installed`)."""
    from starlette.exceptions import HTTPException

    handler = _handler(500, installed)
    handlers: dict[Any, Callable[[Any, Exception], Any]] = {Problem: handler, HTTPException: handler}
    fastapi = sys.modules.get("fastapi.exceptions")  # only a FastAPI app has its validation errors
    if fastapi is not None:
        handlers[fastapi.RequestValidationError] = _handler(422, installed)
    for cls in exception_map or {}:
        handlers.setdefault(cls, handler)
    return handlers


def _handler(default_status: int, installed: HandOver | None = None) -> Callable[[Any, Exception], Any]:
    async def handler(request: Any, exc: Exception) -> Any:
        scope = request.scope
        if scope["type"] != "http":
            raise exc  # a WebSocket: the middleware closes it with the problem's code
        status = exc.status if isinstance(exc, Problem) else status_of(exc, default_status)
        if status < 400:  # no error (an `HTTPException(304)`): its status and headers, no content
            return functools.partial(_sent, Answer(status, _latin1(getattr(exc, "headers", None)), b""))
        handover = handover_of(scope)
        if handover is not None:
            # The problem response, through the app's own middleware.
            problem = handover.claim(scope, exc)
            if problem is None:  # no answer after all (a mapping that failed): the middleware's crash
                raise exc
            return functools.partial(_sent, handover.response(scope, problem))
        if installed is not None:
            # The app object run without the middleware that hooked it up (its test client, or
            # `uvicorn module:api` on the app a module wraps): the whole problem, all the same.
            return _answered(installed, exc, scope)
        # No middleware anywhere (`starlette_exception_handlers()` given by hand and the middleware
        # forgotten): the status and the exception's headers, no content.
        return functools.partial(_sent, Answer(status, _latin1(getattr(exc, "headers", None)), b""))

    return handler


class _Crashes:
    """A layer in the router (`router.middleware_stack`) answering crashes as the app would have, inside the stack.

    Starlette answers a crash (an exception no handler of the app's takes, and
    the responder reads as no answer) in `ServerErrorMiddleware`, outside every
    middleware: with `debug` on, its debug page; else the app's own handler for
    `Exception` or 500. A middleware serving the request answers crashes before
    they get there, so this layer does what `ServerErrorMiddleware` would, for
    a crash before the response started, while a middleware serves the request:

    - with `debug` on (installed inside the app), a browser (`Accept: text/html`)
      gets Starlette's debug page;
    - else the app's own crash handler runs and its response goes out through
      the app's middleware: a problem as is, another error page rewritten as
      any rendered page is (a 4xx's message kept; a 500 page is the crash's
      500 problem; the middleware holds and replaces it).

    Either way the crash is decided and logged here once, with its traceback,
    the problem left for the middleware (`Exchange.problem`, `.answered`). Anything else
    passes up unchanged. Which crash handler is the app's (Starlette's rule:
    the last of `Exception` and 500) is read on the first request, when the
    app has built its stack and fixed it; an app with neither it nor `debug`
    has the layer taken out then, so its happy path costs nothing.
    """

    __slots__ = ("app", "debug", "handler", "router")

    def __init__(self, router: Any) -> None:
        self.app = router.middleware_stack  # `framework_of` walks through `.app`
        self.router = router
        self.debug = False
        self.handler: Any = _UNRESOLVED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handler
        if handler is _UNRESOLVED:
            handler = self.handler = _crash_handler(scope.get("app"))
            if handler is None and not self.debug and self.router.middleware_stack is self:
                self.router.middleware_stack = self.app  # nothing to answer here, ever: out of the way
        if scope["type"] != "http" or (handler is None and not self.debug):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            handover = handover_of(scope)  # no middleware serves the request: `ServerErrorMiddleware` answers
            if started or handover is None or not _is_crash(handover, scope, exc):
                raise
            if self.debug and choose_media_type(request_of(scope).accept) == "html":
                handover.keep(scope, exc)
                response = _debug_page(scope, exc)
            else:
                if handler is None:
                    raise
                from starlette.concurrency import run_in_threadpool
                from starlette.requests import Request as StarletteRequest

                request = StarletteRequest(scope, receive)
                if _is_async(handler):
                    response = await handler(request, exc)
                else:
                    response = await run_in_threadpool(handler, request, exc)
                if response is None:  # no answer of the handler's: the crash, as if it had none
                    raise
                _decide_answered(handover, scope, exc, response)
            await response(scope, receive, send)


def _is_crash(handover: HandOver, scope: Scope, exc: Exception) -> bool:
    """No handler of the app's takes `exc` and the responder reads it as no answer (a problem, a mapped class)."""
    handlers = scope.get("starlette.exception_handlers", ({}, {}))[0]  # what `ExceptionMiddleware` looks up
    if any(cls in handlers for cls in type(exc).__mro__):
        return False
    try:
        return handover.responder.translation(exc)[0] is None  # another framework's error is no crash
    except Exception:  # a failing `exception_map` function: the middleware logs it with the 500
        return False


def _is_async(handler: Any) -> bool:
    """Starlette's reading of a handler (`is_async_callable`): a coroutine function, through partials."""
    while isinstance(handler, functools.partial):
        handler = handler.func
    return inspect.iscoroutinefunction(handler) or (callable(handler) and inspect.iscoroutinefunction(handler.__call__))


_UNRESOLVED: Any = object()


def _crash_handler(app: Any) -> Any:
    """The app's handler for crashes: `ServerErrorMiddleware`'s, the last of `Exception` and 500 (Starlette's rule)."""
    handler = None
    for key, value in (getattr(app, "exception_handlers", None) or {}).items():
        if key in (500, Exception):
            handler = value
    return handler


def _debug_page(scope: Scope, exc: Exception) -> Any:
    """Starlette's debug page for `exc`, the whole answer (`Exchange.answered`): the middleware sends it as it is."""
    from starlette.middleware.errors import ServerErrorMiddleware
    from starlette.responses import HTMLResponse

    page = HTMLResponse(ServerErrorMiddleware(_no_app, debug=True).generate_html(exc), status_code=500)
    pinned = [(key, value) for key, value in page.raw_headers if key in (b"content-type", b"content-length")]
    exchange = exchange_of(scope)
    if exchange is not None:
        exchange.answered = page.status_code, [*pinned, (b"x-request-id", exchange.request_id)]
    return page


def _decide_answered(handover: HandOver, scope: Scope, exc: Exception, response: Any) -> None:
    """Decide the crash the app's handler answered with `response`: one record, with the crash's traceback.

    A 500 page is the crash's own: the 500 problem replaces it. Another
    response is what the app chose to answer the crash with: a problem goes
    out as is, another error page becomes the problem for its status like any
    rendered page (a 4xx's message kept, a 5xx's never), and a response that
    is no error goes out as is, the crash logged with no problem.
    """
    status = response.status_code
    headers = list(response.raw_headers)
    if status == 500 and not is_problem(headers):
        handover.keep(scope, exc)
        return
    responder = handover.responder
    request = request_of(scope)
    if status < 400:
        responder.log_exception(exc, f"{type(exc).__name__} answered by the app's handler with {status}", request)
        return
    try:
        problem = responder.from_rendered(status, headers, getattr(response, "body", b""))
    except Exception as error:  # the error path never raises: the plain problem for the status
        responder.log_exception(error, "reading the error response failed", request)
        problem = problem_for_status(responder.catalog, status)
    decided = responder.decide(problem, request, exc, f"{type(exc).__name__} answered by the app's handler")
    exchange = exchange_of(scope)
    if exchange is not None:
        exchange.problem = decided


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover (never called)
    raise NotImplementedError


def _answered(handover: HandOver, exc: Exception, scope: Scope) -> Any:
    """The problem response for `exc` when no middleware serves the request: its own id, decided and logged here."""
    raw_id = b""
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            raw_id = value if is_request_id(value) else b""
            break
    request = request_of(scope, (raw_id or new_request_id()).decode())
    responder = handover.responder
    status, headers, body = responder.respond(responder.problem_for(exc, request), request)
    # RFC 9110 §9.3.2: a HEAD response has the headers GET would have, and no content.
    return functools.partial(_sent, Answer(status, headers, b"" if request.method == "HEAD" else body))


def _latin1(headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
    return [(key.lower().encode("latin-1"), str(value).encode("latin-1")) for key, value in (headers or {}).items()]


async def _sent(answer: Answer, scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app of an answer: its own status, headers and body (which the middleware passes on as they are)."""
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})


class Starlette(Framework):
    """Starlette, and FastAPI (a Starlette subclass)."""

    module = "starlette"
    apps = frozenset({"starlette.applications.Starlette"})

    def owns(self, app: object) -> bool:
        # Also the innermost layer of the stack the app builds: what a middleware the app
        # added itself (`add_middleware`) finds below it, holding the app's handlers.
        return super().owns(app) or _is_exception_middleware(app)

    def install(self, app: Any, handover: HandOver) -> None:
        if _is_exception_middleware(app):  # inside the app's stack, built already
            registry = app._exception_handlers  # what it looks handlers up in, per request
            add = app.add_exception_handler
            default = app.http_exception  # its own text page for an `HTTPException`
            router = _router_below(app)
        else:
            registry = getattr(app, "exception_handlers", None)
            if not isinstance(registry, dict):
                return
            add = registry.__setitem__
            default = None
            router = getattr(app, "router", None)
            if getattr(app, "middleware_stack", None) is not None:
                app.middleware_stack = None  # built already (it served a request): built again with the handlers
        crashes = _crashes_in(router)
        if crashes is not None and _is_exception_middleware(app) and app.debug:
            crashes.debug = True  # installed inside the app: its debug pages, for a browser
        for cls, handler in _handlers(handover.responder.exception_map, handover).items():
            current = registry.get(cls)
            # Yours win; the defaults (Starlette's text, FastAPI's `{"detail": ...}`) and ours give way.
            if current is None or current == default or _replaceable(current):
                add(cls, handler)
        handover.responder.allowed_methods = lambda request: allowed_methods(router, request)

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """`app.add_middleware(ProblemMiddleware, **options)`: in the stack, outside the app's own middleware."""
        if not super().owns(app):  # the stack's `ExceptionMiddleware` is no app to install into
            super().embed(app, options)  # a TypeError
        from problemdetails._asgi import ProblemMiddleware

        for middleware in app.user_middleware:
            if isinstance(middleware.cls, type) and issubclass(middleware.cls, ProblemMiddleware):
                raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        app.add_middleware(ProblemMiddleware, **options)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from starlette.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            problem = problem_for_status(catalog, exc.status_code, client_detail(exc.status_code, exc.detail))
            problem.headers.update(exc.headers or {})
            return problem
        fastapi = sys.modules.get("fastapi.exceptions")
        if fastapi is not None and isinstance(exc, fastapi.RequestValidationError):
            return validation_problem(catalog, list(exc.errors()))
        return None

    def rendered(self, status: int, document: object, catalog: Catalog) -> Problem | None:
        """FastAPI's own 422 page, `{"detail": [pydantic errors]}`: its items as `errors`."""
        detail = document.get("detail") if isinstance(document, dict) else None
        if status == 422 and isinstance(detail, list) and all(isinstance(item, dict) for item in detail):
            return validation_problem(catalog, detail)
        return None

    def disconnect(self, exc: BaseException, server: Sequence[object]) -> bool:
        """`ClientDisconnect`: an `http.disconnect` from `receive`, or an `OSError` out of `send` (its context)."""
        from starlette.requests import ClientDisconnect

        if not isinstance(exc, ClientDisconnect):
            return False
        context = exc.__context__
        return context is None or (isinstance(context, OSError) and raised_through(context, server))

    def websocket_close(self, exc: BaseException) -> tuple[int, str] | None:
        from starlette.exceptions import WebSocketException

        return (exc.code, exc.reason or "") if isinstance(exc, WebSocketException) else None


def _crashes_in(router: Any) -> _Crashes | None:
    """The router's `_Crashes` layer, put in first (once, whatever installs it again); None for no router."""
    stack = getattr(router, "middleware_stack", None)
    if stack is None:
        return None
    if not isinstance(stack, _Crashes):
        stack = router.middleware_stack = _Crashes(router)
    return stack


def _is_exception_middleware(app: object) -> bool:
    return any(
        f"{cls.__module__}.{cls.__qualname__}" == "starlette.middleware.exceptions.ExceptionMiddleware"
        for cls in type(app).__mro__
    )


def _replaceable(handler: object) -> bool:
    """A handler that gives way to the hand-over's: FastAPI's defaults, and another middleware's of ours."""
    return getattr(handler, "__module__", None) in ("fastapi.exception_handlers", __name__)


def _router_below(app: Any) -> Any:
    """The router under the layers of a stack (FastAPI puts one between `ExceptionMiddleware` and its router)."""
    for _ in range(8):
        if app is None or isinstance(getattr(app, "routes", None), list):
            return app
        app = getattr(app, "app", None)
    return None


def allowed_methods(router: Any, request: Request) -> list[str] | None:
    """Every method the routes of a Starlette/FastAPI `router` accept at the request's path.

    Starlette answers a 405 with the `Allow` of the first route whose path
    matches; FastAPI declares one route per method, so `GET /zones/{id}` and
    `DELETE /zones/{id}` would each hide the other. RFC 9110 §15.5.6: the
    origin server "MUST generate an Allow header field ... containing a list
    of the target resource's currently supported methods": all of them.
    """
    routes = getattr(router, "routes", None)
    if not isinstance(routes, list):
        return None
    scope = request.native
    # Routing rewrote `root_path` in this very scope as it went through each
    # `Mount`: match again from the app's own root, through every Mount.
    root = {
        "type": "http",
        "path": scope.get("path", ""),
        "root_path": scope.get("app_root_path", scope.get("root_path", "")),
        "method": scope.get("method", "GET"),
        "headers": scope.get("headers", []),
    }
    methods: set[str] = set()
    _collect(routes, root, methods)
    return sorted(methods) or None


def _collect(routes: list[Any], scope: dict[str, Any], methods: set[str]) -> None:
    from starlette.routing import Match

    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        route_methods = getattr(route, "methods", None)
        inner = getattr(route, "routes", None)
        if route_methods:
            methods |= set(route_methods)
        elif isinstance(inner, list):  # a Mount or a Host: its routes, with the path it leaves them
            _collect(inner, {**scope, **child}, methods)
