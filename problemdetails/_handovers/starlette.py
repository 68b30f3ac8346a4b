"""Starlette and FastAPI: their exception-handler registry answers with the problem response at once.

Starlette answers a raised exception in `ExceptionMiddleware`, inside the
app's own middleware, with a handler from `app.exception_handlers`. The
hand-over registers one there for problems, `HTTPException`s (router 404 and
405 included), FastAPI's validation errors and the `exception_map`'s classes:
the problem response then takes the framework's ordinary handler path, through
the app's middleware (CORS headers and all), which is much cheaper than a
raise through every layer (`make bench`). Any other exception is a crash:
Starlette's `ServerErrorMiddleware` re-raises it to the middleware outside.

Installed inside the app (`problemdetails.install(app)`, or the app's own
`app.add_middleware(ProblemMiddleware, ...)`), the middleware is built by the
app with its stack, on the first request, and never sees the app object:

    ServerErrorMiddleware ─► ProblemMiddleware ─► your middleware ─► ExceptionMiddleware ─► router

What it finds below it is the stack's `ExceptionMiddleware`: the hand-over
registers its handlers there (the app's own still win) and reads `Allow` from
the router under it. A crash then never reaches `ServerErrorMiddleware`: it is
answered, and logged once, inside; with the app's `debug` on, a browser gets
Starlette's own debug page for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import client_detail, problem_for_status, validation_problem
from problemdetails._grammar import is_request_id
from problemdetails._handovers.base import Framework, HandOver, handover_of, status_of
from problemdetails._problem import Problem
from problemdetails._request_id import new_request_id
from problemdetails._responder import ANSWERED, REQUEST_ID, Request, request_of
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
            return _Answer(status, _latin1(getattr(exc, "headers", None)))
        handover = handover_of(scope)
        if handover is not None and handover.respond is not None:
            # The problem response, through the app's own middleware.
            return handover.respond(exc, scope)
        if installed is not None:
            # The app object run without the middleware that hooked it up (its test client, or
            # `uvicorn module:api` on the app a module wraps): the whole problem, all the same.
            return _answered(installed, exc, scope)
        # No middleware anywhere (`starlette_exception_handlers()` given by hand and the middleware
        # forgotten): the status and the exception's headers, no content.
        return _Answer(status, _latin1(getattr(exc, "headers", None)))

    return handler


class _DebugPages:
    """Starlette's debug page for a browser's crash, with the app's `debug` on: a layer inside `ExceptionMiddleware`.

    A crash is an exception no handler of the app's takes and the responder
    reads as no answer. For a browser (`Accept: text/html`), before the
    response started, it is decided and logged here once, as the middleware
    would have, and the page goes out as the answer (`ANSWERED`), not replaced.
    Anything else passes up unchanged: the middleware answers with the problem.
    """

    __slots__ = ("app", "handover")

    def __init__(self, app: Any, handover: HandOver) -> None:
        self.app = app  # the router: `_router_below` and `framework_of` walk through `.app`
        self.handover = handover

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
            if started or not self._crash_for_a_browser(scope, exc):
                raise
            from starlette.middleware.errors import ServerErrorMiddleware
            from starlette.responses import HTMLResponse

            handover = handover_of(scope) or self.handover
            handover.keep(scope, exc)
            page = HTMLResponse(ServerErrorMiddleware(_no_app, debug=True).generate_html(exc), status_code=500)
            pinned = [(key, value) for key, value in page.raw_headers if key in (b"content-type", b"content-length")]
            scope[ANSWERED] = page.status_code, [*pinned, (b"x-request-id", scope.get(REQUEST_ID) or b"")]
            await page(scope, receive, send)

    def _crash_for_a_browser(self, scope: Scope, exc: Exception) -> bool:
        if choose_media_type(request_of(scope).accept) != "html":
            return False
        handlers = scope.get("starlette.exception_handlers", ({}, {}))[0]  # what `ExceptionMiddleware` looks up
        if any(cls in handlers for cls in type(exc).__mro__):
            return False
        try:
            return self.handover.responder.translation(exc)[0] is None  # another framework's error is no crash
        except Exception:  # a failing `exception_map` function: the middleware logs it with the 500
            return False


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover (never called)
    raise NotImplementedError


def _answered(handover: HandOver, exc: Exception, scope: Scope) -> _Answer:
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
    return _Answer(status, headers, b"" if request.method == "HEAD" else body)


def _latin1(headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
    return [(key.lower().encode("latin-1"), str(value).encode("latin-1")) for key, value in (headers or {}).items()]


class _Answer:
    """A complete response of a status, headers and body: what a handler answers with when no middleware is outside.

    An `HTTPException` that is no error (a 304) is its status and headers
    (`ETag` ...) with no content.
    """

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Fresh messages: other middleware may edit the headers in place.
        await send({"type": "http.response.start", "status": self.status, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": self.body})


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
            if app.debug and not isinstance(app.app, _DebugPages):
                app.app = _DebugPages(app.app, handover)
        else:
            registry = getattr(app, "exception_handlers", None)
            if not isinstance(registry, dict):
                return
            add = registry.__setitem__
            default = None
            router = getattr(app, "router", None)
            if getattr(app, "middleware_stack", None) is not None:
                app.middleware_stack = None  # built already (it served a request): built again with the handlers
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
