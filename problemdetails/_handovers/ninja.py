"""Django Ninja: `problemdetails.install(api, catalog=...)` hooks a `NinjaAPI`, inside the Django project's layer.

Ninja answers its own errors with its exception handlers (`api.add_exception_handler`),
as `{"detail": ...}` JSON, before Django's middleware sees them. Installed, the
handlers Ninja registers by default (for its `HttpError`, its `ValidationError`, and
`Http404`) answer with problems instead, and so does a handler for raised problems;
handlers the app registered stay its own. The decision is the Django middleware's
serving the request (`problemdetails.django.ProblemDetailsMiddleware`, or a
wrapper), so each request is decided and logged once; a Ninja API served without
it answers with the options given to `install`.

Ninja reports a body field as `("body", <the view's parameter>, field...)`: the
body schema's parameter is its own name, not a member of the JSON document. The
API's `validation_error_from_error_contexts` (Ninja's documented override) is
wrapped so that items point into the body as sent: `#/qty`, not `#/order/qty`.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._handovers.base import Framework, handover_of, validation_problem
from problemdetails._handovers.django import django_response, native_of
from problemdetails._problem import Problem

if TYPE_CHECKING:
    from problemdetails._transport import Transport

__all__ = ["Ninja"]

# Set on an API `install` hooked.
_LAYER = "_problemdetails"


class Ninja(Framework):
    module = "ninja"
    apps = frozenset({"ninja.main.NinjaAPI"})

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """Ninja's default exception handlers answered with problems, and body pointers into the body sent."""
        from django.http import Http404
        from ninja.errors import HttpError, ValidationError

        from problemdetails._transport import Transport

        if getattr(app, _LAYER, None) is not None:
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        if options.get("docs_path") is not None:
            raise TypeError("the doc site is the Django layer's to serve: set DOCS_PATH in PROBLEMDETAILS instead")
        layer = Layer(Transport(None, **options))
        setattr(app, _LAYER, layer)
        app.validation_error_from_error_contexts = _pointing_into_the_body(app.validation_error_from_error_contexts)
        handlers: dict[type[BaseException], Any] = app._exception_handlers
        for cls in (HttpError, ValidationError, Http404):
            if _ninjas(handlers.get(cls)):  # the app's own handler for it stays
                app.add_exception_handler(cls, layer.answer)
        if Problem not in handlers:
            app.add_exception_handler(Problem, layer.answer)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """Ninja's `HttpError` (its 4xx message as `detail`; `Throttled`'s wait as `Retry-After`), its 422."""
        from ninja.errors import HttpError, Throttled, ValidationError

        if isinstance(exc, ValidationError):
            return validation_problem(catalog, exc.errors)
        if not isinstance(exc, HttpError) or exc.status_code < 400:
            return None
        problem = problem_for_status(catalog, exc.status_code, client_detail(exc.status_code, exc.message))
        if isinstance(exc, Throttled) and isinstance(exc.wait, int):
            problem.headers["Retry-After"] = str(max(exc.wait, 0))
        return problem


class Layer:
    """What the installed API's exception handlers answer with."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport  # the options given to `install`: for requests no Django layer serves

    def answer(self, request: Any, exc: Exception) -> Any:
        """An exception handler of the API's: the problem's response, or the exception again for a crash."""
        native: MutableMapping[str, Any] = native_of(request) or {}
        handover = handover_of(native)
        made = None
        if handover is None:  # no Django middleware serves the request: this layer answers alone
            made = self.transport.enter(native)
            handover = self.transport.handover
        try:
            problem = handover.claim(native, exc)
            if problem is None:
                raise exc  # a crash takes Django's crash path (the middleware's `keep`, its 500)
            if made is None:  # the Django layer gives it the answer's headers on its way out
                return django_response(handover, native, problem)
            from django.http import HttpResponse

            status, headers, body = handover.response(native, problem)
            response = HttpResponse(body, status=status)
            for name, value in headers:
                response[name.decode("latin-1")] = value.decode("latin-1")
            return response
        finally:
            if made is not None:
                self.transport.leave(made)


def _ninjas(handler: Any) -> bool:
    """`handler` is one Ninja registers by default (`ninja.errors.set_default_exc_handlers`), or none at all."""
    function = getattr(handler, "func", handler)  # Ninja registers `functools.partial`s
    return handler is None or getattr(function, "__module__", "") == "ninja.errors"


def _pointing_into_the_body(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The API's `validation_error_from_error_contexts`, whose body items no longer name the view's parameter."""

    def validation_error_from_error_contexts(error_contexts: Any) -> Any:
        error = original(error_contexts)
        # A lone body parameter is the whole body: Ninja reads the document as `{parameter: document}`.
        names = {
            name
            for context in error_contexts
            if (name := getattr(context.model, "__read_from_single_attr__", None)) is not None
        }
        for item in error.errors:
            location = item.get("loc")
            if isinstance(location, tuple) and len(location) > 1 and location[0] == "body" and location[1] in names:
                item["loc"] = (location[0], *location[2:])
        return error

    return validation_error_from_error_contexts
