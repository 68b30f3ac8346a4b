"""Flask and Quart: an error handler for `Exception` claims answers; the got-request-exception signal keeps crashes.

Flask looks an exception's handler up by status, then along its MRO, so yours
(`@app.errorhandler(404)`, a narrower class) still win over the one the
hand-over registers for `Exception`. That handler claims a problem, a mapped
exception or a werkzeug `HTTPException` and answers with the problem's
response. Anything else is a crash: it goes to the `Exception` handler the
app registered before (chained to, never replaced), else it is raised again,
so Flask's crash path runs (`got_request_exception`, which Sentry listens to,
and the 500 handler), and a signal receiver keeps the exception for the
middleware. Flask's own record of that crash ("Exception on ...") is dropped:
the middleware's is the one. Quart is the same, on ASGI, with `async` handlers.

Installed (`problemdetails.install`, the `problemdetails.flask.ProblemDetails`
extension), the middleware is where Flask keeps middleware, `app.wsgi_app`
(Quart: `app.asgi_app`), so the app object alone answers with problems: under
`flask run`, `app.test_client()` and any server. In debug mode a browser's
crash gets the framework's own debug page (werkzeug's debugger, Quart's
traceback page); API clients still get the problem.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import Framework, HandOver, browser, handover_of
from problemdetails._problem import Problem
from problemdetails._types import Environ, StartResponse

__all__ = ["EXTENSION", "Flask", "Quart", "Werkzeug"]

# The key under `app.extensions` (pallets' convention) that says the layer is installed in an app.
EXTENSION = "problemdetails"

Handler = Callable[[Exception], Any]


def _claimed(native: MutableMapping[str, Any] | None, exc: Exception) -> Problem | None:
    """The problem the layer answers `exc` with: the one decided already (Flask's 500 handler, once the
    crash was kept), else the one `exc` stands for; None when it is not the layer's (a crash, or no
    middleware serves this request)."""
    exchange = exchange_of(native)
    if exchange is None or exchange.handover is None:
        return None
    if exchange.problem is not None:
        return exchange.problem
    return exchange.handover.claim(native, exc)  # type: ignore[arg-type]


def _passes(exc: Exception) -> bool:
    """A redirect, or an `abort(response)`: Flask sends it as it is."""
    from werkzeug.exceptions import HTTPException

    return isinstance(exc, HTTPException) and (exc.code is None or exc.code < 400 or exc.response is not None)


def _handled(native: MutableMapping[str, Any], exc: Exception, status: int) -> None:
    """The app's own `Exception` handler answered a crash: a 500 it returned is that crash, logged once here.

    Its page is replaced by the 500 problem either way (a 5xx body is never
    read); deciding it here puts the crash's traceback on the one record.
    """
    handover = handover_of(native)
    if handover is not None and status == 500:
        handover.keep(native, exc)


def _flask_handler(previous: Handler | None, exc: Exception) -> Any:
    import flask
    from werkzeug.exceptions import HTTPException

    if _passes(exc):
        return exc
    environ = flask.request.environ
    problem = _claimed(environ, exc)
    if problem is not None:
        answer = handover_of(environ).response(environ, problem)  # type: ignore[union-attr]
        return flask.Response(answer.body, status=answer.status, content_type=answer.media_type)
    if previous is not None:
        app = flask.current_app
        response = app.make_response(app.ensure_sync(previous)(exc))
        _handled(environ, exc, response.status_code)
        return response
    if isinstance(exc, HTTPException):  # no middleware serves this request: Flask's own page
        return exc
    raise exc


async def _quart_handler(previous: Handler | None, exc: Exception) -> Any:
    import quart
    from werkzeug.exceptions import HTTPException

    if _passes(exc):
        return exc
    scope: Any = quart.request.scope
    problem = _claimed(scope, exc)
    if problem is not None:
        answer = handover_of(scope).response(scope, problem)  # type: ignore[union-attr]
        return quart.Response(answer.body, status=answer.status, content_type=answer.media_type)
    if previous is not None:
        app = quart.current_app
        response = await app.make_response(await app.ensure_async(previous)(exc))
        _handled(scope, exc, response.status_code)
        return response
    if isinstance(exc, HTTPException):
        return exc
    raise exc


def _chain(app: Any, handler: Callable[..., Any]) -> None:
    """Register `handler` for `Exception`, chained to the one the app registered (kept, never replaced); once."""
    previous = app.error_handler_spec[None][None].get(Exception)
    if isinstance(previous, functools.partial) and previous.func is handler:
        return  # already there: a guard around an installed app
    app.register_error_handler(Exception, functools.partial(handler, previous))


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
    if handover is None or native is None or exception is None:
        return
    handover.keep(native, exception)
    propagates = sender.config["PROPAGATE_EXCEPTIONS"]
    exchange = exchange_of(native)
    if exchange is not None and sender.debug and (propagates or propagates is None) and browser(native):
        # Quart answers a crash it propagates in debug mode with its own traceback page (`quart.debug`):
        # the page is the answer, sent as Quart built it, with the request's id.
        page = [(b"content-type", b"text/html; charset=utf-8"), (b"x-request-id", exchange.request_id)]
        exchange.answered = 500, page


class _KeptCrashes(logging.Filter):
    """Drops Flask's (Quart's) own "Exception on ..." record of a crash the middleware logs already.

    A filter on the app's logger, so the record never reaches a handler (nor
    Sentry's logging integration): each crash is one record, the middleware's.
    """

    def __init__(self, native: Callable[[], MutableMapping[str, Any] | None]) -> None:
        super().__init__()
        self.native = native

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        exchange = exchange_of(self.native())
        return exchange is None or exchange.kept is not record.exc_info[1]


def _flask_native() -> MutableMapping[str, Any] | None:
    import flask

    return flask.request.environ if flask.has_request_context() else None


def _quart_native() -> MutableMapping[str, Any] | None:
    import quart

    scope: Any = quart.request.scope if quart.has_request_context() else None
    return scope  # type: ignore[no-any-return]


_FLASK_KEPT = _KeptCrashes(_flask_native)
_QUART_KEPT = _KeptCrashes(_quart_native)


class _Debuggable:
    """What an installed Flask app's `wsgi_app` is: the middleware, with Flask's debug mode kept for browsers.

    In debug mode Flask lets a crash leave the app, to the debugger `flask run
    --debug` puts around the app object (werkzeug's `DebuggedApplication`).
    A browser's crash still does: the middleware decides and logs it, and the
    start of its 500 raises the crash instead, before anything went to the
    server. API clients get the problem.
    """

    __slots__ = ("app", "flask")

    def __init__(self, flask_app: Any, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.flask = flask_app
        self.app = app  # the middleware: `framework_of` walks down `.app` to the Flask app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not self.flask.debug or not browser(environ):
            return self.app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            exchange = exchange_of(environ)
            crash = exchange.kept if exchange is not None else None
            if exchange is not None and crash is not None and status[:1] == "5":
                exchange.debugged = crash
                raise crash
            return (
                start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)
            )

        return self.app(environ, start)


def _refuse_twice(app: Any) -> None:
    if EXTENSION in app.extensions:
        raise RuntimeError(
            f"problemdetails is already installed in {app!r}: install it once per app, with "
            "problemdetails.install(app, ...) or problemdetails.flask.ProblemDetails(app, ...)"
        )


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

        _chain(app, _flask_handler)
        got_request_exception.connect(_keep_flask, app, weak=False)
        # The logger Flask creates on first use (`flask.logging.create_logger`), without creating it.
        logging.getLogger(app.name).addFilter(_FLASK_KEPT)

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        from problemdetails.flask import ProblemDetails

        ProblemDetails(app, **options)

    def extend(self, app: Any, extension: object, options: dict[str, Any]) -> None:
        """Put the middleware in `app.wsgi_app`, and `extension` in `app.extensions` (`ProblemDetails.init_app`)."""
        from problemdetails._wsgi import WSGIProblemMiddleware

        _refuse_twice(app)
        app.wsgi_app = _Debuggable(app, WSGIProblemMiddleware(app.wsgi_app, **options))
        app.extensions[EXTENSION] = extension


class Quart(Flask):
    module = "quart"
    apps = frozenset({"quart.app.Quart"})

    def install(self, app: Any, handover: HandOver) -> None:
        from quart.signals import got_request_exception

        _chain(app, _quart_handler)
        got_request_exception.connect(_keep_quart, app, weak=False)
        logging.getLogger(app.name).addFilter(_QUART_KEPT)

    def extend(self, app: Any, extension: object, options: dict[str, Any]) -> None:
        """Put the middleware in `app.asgi_app`, and `extension` in `app.extensions` (`ProblemDetails.init_app`)."""
        from problemdetails._asgi import ProblemMiddleware

        _refuse_twice(app)
        app.asgi_app = ProblemMiddleware(app.asgi_app, **options)
        app.extensions[EXTENSION] = extension
