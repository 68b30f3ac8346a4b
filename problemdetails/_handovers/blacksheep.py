"""BlackSheep: handlers in `app.exceptions_handlers` hand every exception over.

BlackSheep looks a handler up along the exception's MRO, except for its own
`HTTPException`s, which it looks up by status only (and otherwise renders as
the bare status phrase, dropping their message). The hand-over registers its
handler for `Exception` and for each error status that has none of yours.
"""

from __future__ import annotations

from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import client_detail, problem_for_status
from problemdetails._handovers.base import Framework, HandOver, handover_of, status_of
from problemdetails._problem import Problem

__all__ = ["BlackSheep"]


async def _handler(app: Any, request: Any, exc: Exception) -> Any:
    from blacksheep import Response

    scope = request.scope
    handover = handover_of(scope)
    problem = handover.claim(scope, exc) if handover is not None else None
    if handover is not None and problem is None:
        handover.keep(scope, exc)
    return Response(problem.status if problem is not None else status_of(exc))


class BlackSheep(Framework):
    module = "blacksheep"
    apps = frozenset({"blacksheep.server.application.Application"})

    def install(self, app: Any, handover: HandOver) -> None:
        registry = app.exceptions_handlers
        registry.setdefault(Exception, _handler)
        for status in range(400, 600):
            registry.setdefault(status, _handler)

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
