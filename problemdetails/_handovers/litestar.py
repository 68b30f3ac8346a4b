"""Litestar: it answers every exception itself, so a handler in its registry hands each one over.

Litestar resolves `exception_handlers` from the app's layer on every request,
so the hand-over adds one for `Exception` to `app.exception_handlers`; yours,
by status or by a narrower class, still win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import client_detail, litestar_error_items, problem_for_status
from problemdetails._handovers.base import Framework, HandOver, handover_of, status_of
from problemdetails._problem import Problem

__all__ = ["Litestar", "litestar_exception_handlers"]


def litestar_exception_handlers() -> dict[int | type[Exception], Callable[[Any, Any], Any]]:
    """Litestar `exception_handlers` that hand every exception to `ProblemMiddleware`.

    `ProblemMiddleware` installs the handler itself when it wraps a Litestar
    app. Pass it yourself when it cannot see the app (`integrate=False`, or
    the app is wrapped in something else first):

    ```python
    app = ProblemMiddleware(
        Litestar(route_handlers=[...], exception_handlers=litestar_exception_handlers()), catalog=catalog
    )
    ```

    Each handler leaves the exception for the middleware and answers with an
    empty response of its status; the middleware then replaces it with the
    problem (a raised `Problem`, a mapped exception, Litestar's own
    `HTTPException` and `ValidationException`).
    """
    return {Exception: _handler}


def _handler(request: Any, exc: Exception) -> Any:
    from litestar import MediaType, Response

    scope = request.scope
    handover = handover_of(scope)
    problem = handover.claim(scope, exc) if handover is not None else None
    if handover is not None and problem is None:
        handover.keep(scope, exc)
    status = problem.status if problem is not None else status_of(exc)
    return Response(content=b"", status_code=status, media_type=MediaType.TEXT)


class Litestar(Framework):
    module = "litestar"
    apps = frozenset({"litestar.app.Litestar"})

    def install(self, app: Any, handover: HandOver) -> None:
        registry = getattr(app, "exception_handlers", None)
        if isinstance(registry, dict):
            registry.setdefault(Exception, _handler)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from litestar.exceptions import HTTPException

        if not isinstance(exc, HTTPException):
            return None
        status = exc.status_code
        errors = litestar_error_items(exc.extra)
        problem = problem_for_status(catalog, status, client_detail(status, exc.detail), errors)
        problem.headers.update(exc.headers or {})
        return problem
