"""Flask and Quart: an error handler for `Exception` claims answers; the got-request-exception signal keeps crashes.

Flask looks an exception's handler up by status, then along its MRO, so yours
(`@app.errorhandler(404)`, a narrower class) still win over the one the
hand-over registers for `Exception`. That handler claims a problem, a mapped
exception or a werkzeug `HTTPException` and answers with the problem's
response; anything else it raises again, so Flask's crash path runs
(`got_request_exception`, which Sentry listens to, and the 500 handler), and a
signal receiver keeps the exception for the middleware. Quart is the same, on
ASGI, with `async` handlers.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import client_detail, problem_for_status
from problemdetails._handovers.base import Framework, HandOver, handover_of, status_of
from problemdetails._problem import Problem
from problemdetails._responder import DECIDED

__all__ = ["Flask", "Quart", "Werkzeug"]


def _answer(native: MutableMapping[str, Any] | None, exc: Exception) -> Problem | int | Exception:
    """What the error handler answers: a problem to send, a status (an empty response for the middleware
    to replace), or an exception to return (a redirect, a response the app chose) or to raise (a crash)."""
    from werkzeug.exceptions import HTTPException

    if isinstance(exc, HTTPException) and (exc.code is None or exc.code < 400 or exc.response is not None):
        return exc  # a redirect, or a response the app chose: Flask sends it as it is
    handover = handover_of(native)
    if handover is None or native is None:
        return exc
    if DECIDED in native:  # Flask's 500 handler, after the signal kept the crash
        return status_of(exc)
    problem = handover.claim(native, exc)
    return problem if problem is not None else exc


def _flask_handler(exc: Exception) -> Any:
    import flask
    from werkzeug.exceptions import HTTPException

    environ = flask.request.environ
    answer = _answer(environ, exc)
    if isinstance(answer, Problem):
        status, media_type, body = handover_of(environ).response(environ, answer)  # type: ignore[union-attr]
        return flask.Response(body, status=status, content_type=media_type)
    if isinstance(answer, int):
        return flask.Response(status=answer)
    if isinstance(answer, HTTPException):
        return answer
    raise answer


async def _quart_handler(exc: Exception) -> Any:
    import quart
    from werkzeug.exceptions import HTTPException

    scope: Any = quart.request.scope
    answer = _answer(scope, exc)
    if isinstance(answer, Problem):
        status, media_type, body = handover_of(scope).response(scope, answer)  # type: ignore[union-attr]
        return quart.Response(body, status=status, content_type=media_type)
    if isinstance(answer, int):
        return quart.Response(b"", status=answer)
    if isinstance(answer, HTTPException):
        return answer
    raise answer


def _keep_flask(sender: Any, exception: BaseException | None = None, **kwargs: Any) -> None:
    import flask

    native = flask.request.environ if flask.has_request_context() else None
    handover = handover_of(native)
    if handover is not None and native is not None and exception is not None:
        handover.keep(native, exception)


async def _keep_quart(sender: Any, exception: BaseException | None = None, **kwargs: Any) -> None:
    import quart

    native: Any = quart.request.scope if quart.has_request_context() else None
    handover = handover_of(native)
    if handover is not None and native is not None and exception is not None:
        handover.keep(native, exception)


class Werkzeug(Framework):
    """werkzeug's `HTTPException`s, which Flask and Quart raise (`abort(404)`, routing's 404 and 405)."""

    module = "werkzeug"
    apps = frozenset()

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from werkzeug.exceptions import HTTPException

        if not isinstance(exc, HTTPException) or exc.code is None or exc.code < 400:
            return None
        # Every werkzeug error has a long default description; only one the app passed is a detail.
        given = exc.description if exc.description != type(exc).description else None
        problem = problem_for_status(catalog, exc.code, client_detail(exc.code, given))
        # `Allow` (405), `WWW-Authenticate` (401), `Retry-After` (429, 503): the representation ones are dropped.
        problem.headers.update(exc.get_headers())
        return problem


class Flask(Framework):
    module = "flask"
    apps = frozenset({"flask.app.Flask"})

    def install(self, app: Any, handover: HandOver) -> None:
        from flask.signals import got_request_exception

        app.register_error_handler(Exception, _flask_handler)
        got_request_exception.connect(_keep_flask, app, weak=False)


class Quart(Framework):
    module = "quart"
    apps = frozenset({"quart.app.Quart"})

    def install(self, app: Any, handover: HandOver) -> None:
        from quart.signals import got_request_exception

        app.register_error_handler(Exception, _quart_handler)
        got_request_exception.connect(_keep_quart, app, weak=False)
