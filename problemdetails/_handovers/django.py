"""Django (ASGI and WSGI): an exception middleware claims answers; the got-request-exception signal keeps crashes.

Django answers every exception itself. The hand-over adds a `process_exception`
to the handler's loaded middleware chain (no settings change): a problem, a
mapped exception and Django's `Http404` and `PermissionDenied` raised in a view
are claimed and answered with the problem's response, sent through the
project's own middleware. A crash takes Django's own path (`django.request`'s ERROR
log, the `got_request_exception` signal that Sentry listens to), and a signal
receiver keeps the exception, so the middleware answers for it rather than for
Django's 500 page. `SuspiciousOperation` is left to Django, which logs it to
`django.security`; its 400 page is replaced like any other.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._framework_errors import problem_for_status
from problemdetails._handovers.base import Framework, HandOver, handover_of
from problemdetails._problem import Problem

__all__ = ["Django", "django_response", "native_of"]


def native_of(request: Any) -> MutableMapping[str, Any] | None:
    """The ASGI scope or WSGI environ behind a Django (or DRF) request."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    native = getattr(request, "scope", None)
    if native is None:
        native = getattr(request, "environ", None)
    return native if isinstance(native, MutableMapping) else None


def _process_exception(request: Any, exc: Exception) -> Any:
    from django.core.exceptions import SuspiciousOperation

    native = native_of(request)
    handover = handover_of(native)
    if handover is None or native is None or isinstance(exc, SuspiciousOperation):
        return None
    problem = handover.claim(native, exc)
    return None if problem is None else django_response(handover, native, problem)


def django_response(handover: HandOver, native: MutableMapping[str, Any], problem: Problem) -> Any:
    """The problem's response as Django's `HttpResponse`, sent through the project's own middleware."""
    from django.http import HttpResponse

    status, media_type, body = handover.response(native, problem)
    return HttpResponse(body, status=status, content_type=media_type)


def _keep(sender: Any, request: Any = None, **kwargs: Any) -> None:
    native = native_of(request)
    handover = handover_of(native)
    exc = sys.exc_info()[1]
    # The signal is process-wide: only a middleware that integrated Django listens to it.
    if handover is not None and handover.integrated and native is not None and exc is not None:
        handover.keep(native, exc)


class Django(Framework):
    module = "django"
    apps = frozenset({"django.core.handlers.base.BaseHandler"})

    def install(self, app: Any, handover: HandOver) -> None:
        from django.core.signals import got_request_exception

        got_request_exception.connect(_keep, dispatch_uid="problemdetails")  # once per process
        chain = getattr(app, "_exception_middleware", None)
        if isinstance(chain, list) and _process_exception not in chain:
            # Last: the project's own `process_exception` middleware answer first.
            chain.append(_process_exception)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
        from django.http import Http404

        # Django's messages are for the developer (DEBUG pages), not the client: no detail.
        if isinstance(exc, Http404):
            return problem_for_status(catalog, 404)
        if isinstance(exc, PermissionDenied):
            return problem_for_status(catalog, 403)
        if isinstance(exc, (BadRequest, SuspiciousOperation)):
            return problem_for_status(catalog, 400)
        return None
