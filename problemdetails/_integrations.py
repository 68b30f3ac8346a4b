"""Small conveniences that hand exceptions straight to `ProblemMiddleware`.

Starlette and FastAPI re-raise what they cannot handle, so the middleware sees
it anyway, but only after their 500 machinery ran; Litestar answers every
exception itself. The Starlette handler answers with the middleware's problem
response at once (it finds the middleware in the ASGI scope); the Litestar
one leaves the exception in the scope and answers with an empty response,
which the middleware replaces with the problem.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException

from problemdetails._middleware import MIDDLEWARE, RAISED
from problemdetails._problem import Problem
from problemdetails._types import Receive, Scope, Send

__all__ = ["litestar_exception_handlers", "starlette_exception_handlers"]


def litestar_exception_handlers() -> dict[int | type[Exception], Callable[[Any, Any], Any]]:
    """Litestar `exception_handlers` that hand every exception to `ProblemMiddleware`.

    ```python
    app = ProblemMiddleware(
        Litestar(route_handlers=[...], exception_handlers=litestar_exception_handlers()), catalog=catalog
    )
    ```

    Each handler records the exception in the request scope and answers with an
    empty response of the right status; the middleware then replaces it with the
    problem for the exception (a raised `Problem`, a mapped exception, Litestar's
    own `HTTPException` and `ValidationException`).
    """
    from litestar import MediaType, Response

    def handler(request: Any, exc: Exception) -> Any:
        request.scope[RAISED] = exc
        status = getattr(exc, "status_code", None) or getattr(exc, "status", None) or 500
        return Response(content=b"", status_code=status if isinstance(status, int) else 500, media_type=MediaType.TEXT)

    return {Exception: handler}


def starlette_exception_handlers() -> dict[Any, Callable[[Any, Exception], Any]]:
    """Starlette / FastAPI `exception_handlers` that answer with `ProblemMiddleware`'s problem responses.

    Optional: without them the middleware still answers for a raised problem,
    after Starlette's 500 handling and re-raise, and replaces the error pages
    the framework renders; with them raised problems, `HTTPException`s (router
    404 and 405 included) and FastAPI's validation errors take the framework's
    ordinary handler path, which is much cheaper (`make bench`).

    ```python
    app = ProblemMiddleware(
        Starlette(routes=[...], exception_handlers=starlette_exception_handlers()), catalog=catalog
    )
    ```
    """

    handler = _handler(500)
    handlers: dict[Any, Callable[[Any, Exception], Any]] = {Problem: handler, HTTPException: handler}
    fastapi = sys.modules.get("fastapi.exceptions")  # only a FastAPI app has its validation errors
    if fastapi is not None:
        handlers[fastapi.RequestValidationError] = _handler(422)
    return handlers


def _handler(default_status: int) -> Callable[[Any, Exception], Any]:
    async def handler(request: Any, exc: Exception) -> Any:
        scope = request.scope
        if scope["type"] != "http":
            raise exc  # a WebSocket: the middleware closes it with the problem's code
        middleware = scope.get(MIDDLEWARE)
        if isinstance(exc, Problem):
            status = exc.status
        else:
            status = getattr(exc, "status_code", None) or default_status
            status = status if isinstance(status, int) and 100 <= status <= 599 else 500
        if middleware is not None and status >= 400:  # the problem response, through the app's own middleware
            return middleware._respond(exc, scope)
        # No middleware outside, or no error (an `HTTPException(304)`): the status and headers, no content.
        return _HandOver(status, getattr(exc, "headers", None))

    return handler


class _HandOver:
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
