"""Starlette and FastAPI: their exception-handler registry answers with the problem response at once.

Starlette answers a raised exception in `ExceptionMiddleware`, inside the
app's own middleware, with a handler from `app.exception_handlers`. The
hand-over registers one there for problems, `HTTPException`s (router 404 and
405 included), FastAPI's validation errors and the `exception_map`'s classes:
the problem response then takes the framework's ordinary handler path, through
the app's middleware (CORS headers and all), which is much cheaper than a
raise through every layer (`make bench`). Any other exception is a crash:
Starlette's `ServerErrorMiddleware` re-raises it to the middleware outside.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import client_detail, problem_for_status, validation_problem
from problemdetails._handovers.base import Framework, HandOver, handover_of, status_of
from problemdetails._problem import Problem
from problemdetails._responder import Request
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
    from starlette.exceptions import HTTPException

    handler = _handler(500)
    handlers: dict[Any, Callable[[Any, Exception], Any]] = {Problem: handler, HTTPException: handler}
    fastapi = sys.modules.get("fastapi.exceptions")  # only a FastAPI app has its validation errors
    if fastapi is not None:
        handlers[fastapi.RequestValidationError] = _handler(422)
    for cls in exception_map or {}:
        handlers.setdefault(cls, handler)
    return handlers


def _handler(default_status: int) -> Callable[[Any, Exception], Any]:
    async def handler(request: Any, exc: Exception) -> Any:
        scope = request.scope
        if scope["type"] != "http":
            raise exc  # a WebSocket: the middleware closes it with the problem's code
        handover = handover_of(scope)
        status = exc.status if isinstance(exc, Problem) else status_of(exc, default_status)
        if handover is not None and handover.respond is not None and status >= 400:
            # The problem response, through the app's own middleware.
            return handover.respond(exc, scope)
        # No middleware outside, or no error (an `HTTPException(304)`): the status and headers, no content.
        return _Empty(status, getattr(exc, "headers", None))

    return handler


class _Empty:
    """An empty response of the status, with the exception's headers (`Allow`, `ETag` ...).

    The handler's answer to an `HTTPException` that is no error, and to any
    exception when no `ProblemMiddleware` is outside (a misconfiguration, but
    the response is still complete and has the right status).
    """

    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str] | None) -> None:
        self.status = status
        self.headers = [
            (key.lower().encode("latin-1"), str(value).encode("latin-1")) for key, value in (headers or {}).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Fresh messages: other middleware may edit the headers in place.
        await send({"type": "http.response.start", "status": self.status, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": b""})


class Starlette(Framework):
    """Starlette, and FastAPI (a Starlette subclass)."""

    module = "starlette"
    apps = frozenset({"starlette.applications.Starlette"})

    def install(self, app: Any, handover: HandOver) -> None:
        registry = getattr(app, "exception_handlers", None)
        if not isinstance(registry, dict):
            return
        for cls, handler in starlette_exception_handlers(handover.responder.exception_map).items():
            current = registry.get(cls)
            # Yours win; FastAPI's defaults (`{"detail": ...}` JSON) give way.
            if current is None or getattr(current, "__module__", None) == "fastapi.exception_handlers":
                registry[cls] = handler
        if getattr(app, "middleware_stack", None) is not None:
            app.middleware_stack = None  # built already (it served a request): built again with the handlers
        handover.responder.allowed_methods = lambda request: allowed_methods(app, request)

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


def allowed_methods(app: Any, request: Request) -> list[str] | None:
    """Every method the routes of a Starlette/FastAPI `app` accept at the request's path.

    Starlette answers a 405 with the `Allow` of the first route whose path
    matches; FastAPI declares one route per method, so `GET /zones/{id}` and
    `DELETE /zones/{id}` would each hide the other. RFC 9110 §15.5.6: the
    origin server "MUST generate an Allow header field ... containing a list
    of the target resource's currently supported methods": all of them.
    """
    routes = getattr(getattr(app, "router", None), "routes", None)
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
