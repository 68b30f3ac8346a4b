"""Django (ASGI and WSGI): an exception middleware claims answers; the got-request-exception signal keeps crashes.

Django answers every exception itself. The hand-over adds a `process_exception`
to the handler's loaded middleware chain (no settings change): a problem, a
mapped exception and Django's `Http404` and `PermissionDenied` raised in a view
are claimed and answered with the problem's response, sent through the
project's own middleware. A crash takes Django's own path (`django.request`'s ERROR
log, the `got_request_exception` signal that Sentry listens to), and a signal
receiver keeps the exception, so the middleware answers for it rather than for
Django's 500 page; `django.request`'s record of a kept crash is dropped (the
middleware's record is the one). `SuspiciousOperation` is left to Django, which
logs it to `django.security`; its 400 page is replaced like any other.

The Django middleware (`problemdetails.django.ProblemDetailsMiddleware`) is the
same layer inside the handler: its `process_exception` is `claim_response`.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._decider import problem_for_status
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import Framework, HandOver, handover_of
from problemdetails._problem import Problem

__all__ = ["Django", "claim_response", "connect", "django_response", "native_of"]

# Set on a handler `problemdetails.install` put the middleware in.
_EMBEDDED = "_problemdetails_installed"


def native_of(request: Any) -> MutableMapping[str, Any] | None:
    """The ASGI scope or WSGI environ behind a Django (or DRF) request."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    native = getattr(request, "scope", None)
    if native is None:
        native = getattr(request, "environ", None)
    return native if isinstance(native, MutableMapping) else None


def claim_response(request: Any, exc: Exception) -> Any:
    """A `process_exception`: the problem's response for an exception the layer answers; None for a crash."""
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

    answer = handover.response(native, problem)
    return HttpResponse(answer.body, status=answer.status, content_type=answer.media_type)


def _keep(sender: Any, request: Any = None, **kwargs: Any) -> None:
    native = native_of(request)
    handover = handover_of(native)
    exc = sys.exc_info()[1]
    # The signal is process-wide: only a middleware that integrated Django listens to it.
    if handover is not None and handover.integrated and native is not None and exc is not None:
        handover.keep(native, exc)


class _KeptCrashes(logging.Filter):
    """Drops `django.request`'s "Internal Server Error" records of a crash the middleware logs already.

    A filter on that logger, so the record never reaches a handler (nor
    Sentry's logging integration): each crash is one record, the middleware's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Both of Django's records of the request: the crash's, and the one of the 500 response that answered it.
        exchange = exchange_of(native_of(getattr(record, "request", None)))
        return exchange is None or exchange.kept is None or record.levelno < logging.ERROR


_KEPT_CRASHES = _KeptCrashes()


def connect() -> None:
    """Hook Django's crash path, once per process: its signal keeps a crash, its own record of it is dropped,
    and what a middleware of the project raised is claimed before it takes that path (`_claiming`)."""
    from django.core.handlers import exception
    from django.core.signals import got_request_exception

    got_request_exception.connect(_keep, dispatch_uid="problemdetails")
    logger = logging.getLogger("django.request")
    if _KEPT_CRASHES not in logger.filters:
        logger.addFilter(_KEPT_CRASHES)
    if not getattr(exception.response_for_exception, _CLAIMING, False):
        exception.response_for_exception = _claiming(exception.response_for_exception)


_CLAIMING = "_problemdetails_claiming"


def _claiming(original: Callable[[Any, Exception], Any]) -> Callable[[Any, Exception], Any]:
    """Django's `response_for_exception`, the layer serving the request asked first.

    Django answers an exception a middleware raised (a problem an auth
    middleware raised, say) there, not through `process_exception`, which is
    for views: every exception it does not know takes its crash path, whose
    signal makes `django.test.Client` re-raise it. The layer claims what it
    answers (a problem, a mapped exception) first, as `process_exception`
    does for a view's: no crash path, no re-raise. Anything else is Django's,
    as before; so is every exception of a request no layer serves.
    """

    @functools.wraps(original)
    def response_for_exception(request: Any, exc: Exception) -> Any:
        handover = handover_of(native_of(request))
        if handover is not None and handover.integrated:
            response = claim_response(request, exc)
            if response is not None:
                return response
        return original(request, exc)

    setattr(response_for_exception, _CLAIMING, True)
    return response_for_exception


class Django(Framework):
    module = "django"
    apps = frozenset({"django.core.handlers.base.BaseHandler"})

    def install(self, app: Any, handover: HandOver) -> None:
        connect()
        chain = getattr(app, "_exception_middleware", None)
        if isinstance(chain, list) and claim_response not in chain:
            # Last: the project's own `process_exception` middleware answer first.
            chain.append(claim_response)

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """The Django middleware, outermost in the handler's loaded chain: what `MIDDLEWARE` would make of it."""
        from django.conf import settings
        from django.core.handlers.exception import convert_exception_to_response

        from problemdetails.django import PATH, ProblemDetailsMiddleware

        if getattr(app, _EMBEDDED, False) or PATH in settings.MIDDLEWARE:
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        middleware = ProblemDetailsMiddleware(app._middleware_chain, **options)
        app._middleware_chain = convert_exception_to_response(middleware)
        app._exception_middleware.append(middleware.process_exception)  # last, as the first listed's is
        setattr(app, _EMBEDDED, True)

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
