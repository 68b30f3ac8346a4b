"""Falcon (WSGI and ASGI): error handlers for `Exception` and `HTTPError` claim answers; crashes propagate.

Falcon looks a handler up along the exception's MRO, so yours for narrower
classes still win. The hand-over's handler claims a problem, a mapped exception
or a Falcon `HTTPError` (router 404, 405 with `Allow`, `HTTPBadRequest` ...),
and answers with the problem's response.
Anything else it raises again: out of the Falcon app, to the middleware, which
answers and logs it as a crash.
"""

from __future__ import annotations

from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import client_detail, json_pointer, problem_for_status
from problemdetails._handovers.base import Framework, HandOver, handover_of
from problemdetails._member_types import ErrorItem
from problemdetails._problem import Problem

__all__ = ["Falcon"]


def _claim(req: Any, resp: Any, exc: Exception) -> None:
    native = getattr(req, "scope", None) or req.env  # falcon.asgi.Request has a scope, falcon.Request an env
    handover = handover_of(native)
    problem = handover.claim(native, exc) if handover is not None else None
    if handover is None or problem is None:
        raise exc
    status, media_type, body = handover.response(native, problem)
    resp.status = status
    resp.content_type = media_type
    resp.text = None
    resp.data = body


def _wsgi_handler(req: Any, resp: Any, exc: Exception, params: Any) -> None:
    _claim(req, resp, exc)


async def _asgi_handler(req: Any, resp: Any, exc: Exception, params: Any, **kwargs: Any) -> None:
    _claim(req, resp, exc)


def _media_errors(exc: Exception) -> list[ErrorItem] | None:
    """The field of a `MediaValidationError` (Falcon's jsonschema validator) as an `errors` item with a pointer."""
    import falcon

    cause = exc.__cause__
    path = getattr(cause, "absolute_path", None)
    if not isinstance(exc, falcon.MediaValidationError) or path is None:
        return None
    return [ErrorItem(detail=str(getattr(cause, "message", exc.description)), pointer=json_pointer(path))]


class Falcon(Framework):
    module = "falcon"
    apps = frozenset({"falcon.app.App"})

    def install(self, app: Any, handover: HandOver) -> None:
        import falcon
        import falcon.asgi

        handler = _asgi_handler if isinstance(app, falcon.asgi.App) else _wsgi_handler
        app.add_error_handler(Exception, handler)
        app.add_error_handler(falcon.HTTPError, handler)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        import falcon

        if not isinstance(exc, falcon.HTTPError):
            return None
        status = exc.status_code
        problem = problem_for_status(catalog, status, client_detail(status, exc.description), _media_errors(exc))
        problem.headers.update(exc.headers or {})  # `Allow` on a 405, `WWW-Authenticate`, `Retry-After`
        return problem
