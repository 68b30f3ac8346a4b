"""Small conveniences for frameworks whose error handling would hide exceptions.

Starlette and FastAPI re-raise what they cannot handle, so `ProblemMiddleware`
sees it. Litestar answers every exception itself, so its handlers are told to
leave the exception in the ASGI scope for the middleware instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from problemdetails._middleware import RAISED

__all__ = ["litestar_exception_handlers"]


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
