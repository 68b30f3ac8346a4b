"""Tornado: each handler the application routes to answers its errors with problems (`problemdetails.tornado`).

Tornado serves neither ASGI nor WSGI, and has no middleware: a handler
answers its own errors (`send_error`, `write_error`). `problemdetails.install
(application)` serves every handler class as a subclass with
`ProblemDetailsMixin` (see `problemdetails/tornado.py`); this file reads
Tornado's own `HTTPError` as a problem.
"""

from __future__ import annotations

from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._handovers.base import Framework
from problemdetails._member_types import ErrorItem
from problemdetails._problem import Problem

__all__ = ["Tornado"]


class Tornado(Framework):
    module = "tornado"
    apps = frozenset({"tornado.web.Application"})

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """Serve every handler of the application with `ProblemDetailsMixin` (`problemdetails.install`)."""
        from problemdetails._transport import Transport
        from problemdetails.tornado import embed

        embed(app, Transport(app, **options))

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """A `tornado.web.HTTPError` of 400 or more: its status's problem, a 4xx's `reason` as `detail`.

        Its `log_message` is for the log (Tornado never sends it): never the
        client's. A `MissingArgumentError` (`get_argument` without a default)
        names the argument as an `errors` item.
        """
        from tornado.web import HTTPError, MissingArgumentError

        if not isinstance(exc, HTTPError) or exc.status_code < 400:
            return None
        if isinstance(exc, MissingArgumentError):
            item = ErrorItem(detail=f"Missing argument {exc.arg_name}.", parameter=exc.arg_name, code="missing")
            return problem_for_status(catalog, exc.status_code, errors=[item])
        return problem_for_status(catalog, exc.status_code, client_detail(exc.status_code, exc.reason))
