"""The Django middleware: `ProblemDetailsMiddleware`, configured by the `PROBLEMDETAILS` setting.

```python
MIDDLEWARE = [
    "problemdetails.django.ProblemDetailsMiddleware",  # first: outside the project's own middleware
    ...,
]
PROBLEMDETAILS = {"CATALOG": "catalog/", "EXCEPTION_MAP": {ZoneLocked: "conflict"}}
```

With it in the settings, whatever runs the project answers every error with a
problem: `manage.py runserver`, `django.test.Client` and `AsyncClient`,
pytest-django, and any WSGI or ASGI server, with no `wsgi.py` or `asgi.py`
edit. It is what `problemdetails.install(handler, catalog=catalog)` puts inside
a `WSGIHandler` or `ASGIHandler`. DRF also takes
`REST_FRAMEWORK = {"EXCEPTION_HANDLER": "problemdetails.drf_exception_handler"}`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from problemdetails import _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import serving
from problemdetails._decider import HELD_BODY_LIMIT
from problemdetails._exchange import Exchange
from problemdetails._handovers.base import watched, watched_async
from problemdetails._handovers.django import claim_response, connect, native_of
from problemdetails._request import request_of
from problemdetails._responder import is_problem, with_answer
from problemdetails._response import choose_media_type
from problemdetails._transport import Transport

__all__ = ["SETTING", "ProblemDetailsMiddleware"]

# The setting that configures the middleware: the options of `ProblemMiddleware`, upper-cased.
SETTING = "PROBLEMDETAILS"
PATH = "problemdetails.django.ProblemDetailsMiddleware"


class ProblemDetailsMiddleware(Transport):
    """Every error of a Django project answered with an RFC 9457 problem, by Django's own handler.

    List it first in `MIDDLEWARE` and configure it with the `PROBLEMDETAILS`
    setting: `CATALOG` (a path, a list of paths, or a `Catalog`) and any other
    option of `ProblemMiddleware`, upper-cased (`EXCEPTION_MAP`, `DEBUG`,
    `DOCS_PATH`, `INSTANCE`, `LOGGER`, ...). It runs under WSGI and ASGI alike
    (sync and async capable).

    - Each request gets its id (a valid incoming `X-Request-ID`, else a new
      one; an outer `ProblemMiddleware`'s when one is outside), sent as
      `X-Request-ID` on every response and given by `current_request_id()`.
    - A raised problem, a mapped exception, `Http404` and `PermissionDenied`
      are answered by its `process_exception`; the error pages Django or a
      view rendered (its 404, 403, 400 and 500 pages, a `{"detail": ...}`
      body, a short text message) are replaced by their status's problem,
      keeping a message meant for the client as `detail`.
    - A crash takes Django's own crash path (`got_request_exception`, which
      Sentry listens to) and is logged once, by this middleware:
      `django.request`'s own record of it is dropped. With `DEBUG = True` in the
      settings, a browser (`Accept: text/html`) gets Django's technical 500
      page; API clients still get the problem.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any], **options: Any) -> None:
        if not options:
            options = _configured()
        elif "catalog" not in options:
            raise TypeError("ProblemDetailsMiddleware needs a catalog")
        options["catalog"] = _catalog(options["catalog"])
        integrate = options.pop("integrate", True)
        super().__init__(get_response, integrate=False, **options)  # its hooks are its own methods
        self.get_response = get_response
        self.handover.integrated = bool(integrate)
        if integrate:
            connect()
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self._acall(request)
        native, exchange = self._enter(request)
        token = serving.set(native)
        try:
            docs = self._docs(request, exchange)
            if docs is not None:
                return docs
            return self._finish(native, exchange, self.get_response(request))
        finally:
            serving.reset(token)
            self.leave(exchange)

    async def _acall(self, request: Any) -> Any:
        native, exchange = self._enter(request)
        token = serving.set(native)
        try:
            docs = self._docs(request, exchange)
            if docs is not None:
                return docs
            get_response: Callable[[Any], Awaitable[Any]] = self.get_response
            return self._finish(native, exchange, await get_response(request))
        finally:
            serving.reset(token)
            self.leave(exchange)

    def process_exception(self, request: Any, exc: Exception) -> Any:
        """Django's exception middleware hook: the problem's response for what the layer answers, else None.

        Listed first, this middleware's hook runs last: the project's own
        `process_exception` middleware answer first. A crash is left to
        Django's crash path (None).
        """
        return claim_response(request, exc) if self.handover.integrated else None

    # -- the request ----------------------------------------------------------------

    def _enter(self, request: Any) -> tuple[Any, Exchange]:
        """The request's WSGI environ or ASGI scope, and its exchange (its id, this layer's hand-over)."""
        native = native_of(request)
        if native is None:  # an `HttpRequest` made by hand: its META stands for the environ
            native = request.META
        # The hooks (`process_exception`, DRF's handler, the crash signal) find this layer in `native`.
        return native, self.enter(native)

    def _docs(self, request: Any, exchange: Exchange) -> Any:
        docs = self.docs
        if docs is None or request.method not in ("GET", "HEAD") or not request.path.startswith(docs.path):
            return None
        query = request.META.get("QUERY_STRING", "").encode("latin-1")
        answer = docs.response(request.path[len(docs.path) :], query, request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        if answer is None:
            return None
        from django.http import HttpResponse

        status, headers, body = answer
        response = HttpResponse(b"" if request.method == "HEAD" else body, status=status)
        _set(response, [*headers, (b"x-request-id", exchange.request_id)])
        return response

    # -- the response ---------------------------------------------------------------

    def _finish(self, native: Any, exchange: Exchange, response: Any) -> Any:
        status = response.status_code
        if status >= 400:
            answered = exchange.answered
            if answered is not None and answered[0] == status:
                # A hook's problem response (`process_exception`, DRF's handler): the answer's headers.
                _set(response, with_answer(answered, _headers(response)))
                _telemetry.relabel(native, status)
                return response
            replace = self.rewrite_error_responses and not is_problem(_headers(response))
            if replace and not self._debug_page(native, exchange, status):
                return self._replaced(native, exchange, response)
            if replace:  # Django's debug page is the answer: a guard outside the project sends it as it is
                response["X-Request-ID"] = exchange.request_id.decode()
                exchange.answered = status, _headers(response)
                return response
        elif getattr(response, "streaming", False) and getattr(response, "file_to_stream", None) is None:
            # The body streams after this returns, in Django's handler: a failure then is logged here first.
            failed = functools.partial(self._streamed_failure, native)
            if response.is_async:
                response.streaming_content = watched_async(response.streaming_content, failed)
            else:
                response.streaming_content = watched(response.streaming_content, failed)
        if "X-Request-ID" not in response:
            response["X-Request-ID"] = exchange.request_id.decode()
        return response

    def _streamed_failure(self, native: Any, exc: Exception) -> None:
        # RFC 9110 has no way to take back a status line: the server aborts, the client sees truncation.
        self.responder.log_exception(exc, "exception after the response started; aborting", request_of(native))

    def _debug_page(self, native: Any, exchange: Exchange, status: int) -> bool:
        """Django's technical 500 page goes to a browser in debug mode (`DEBUG = True`) for a crash."""
        from django.conf import settings

        decided = exchange.problem
        if not (settings.DEBUG and status == 500 and decided is not None and decided.status == 500):
            return False
        return choose_media_type(request_of(native).accept) == "html"

    def _replaced(self, native: Any, exchange: Exchange, response: Any) -> Any:
        """The error page Django or a view rendered, replaced by its problem (the one a hook decided, if any)."""
        from django.http import HttpResponse

        # A streamed page is not read: its status's problem answers, with no message.
        body = b"" if response.streaming else bytes(response.content[:HELD_BODY_LIMIT])
        status, headers, content = self.handover.replaced(native, response.status_code, _headers(response), body)
        replacement = HttpResponse(b"" if request_of(native).method == "HEAD" else content, status=status)
        _set(replacement, headers)
        replacement.cookies = response.cookies  # Set-Cookie lives beside Django's headers
        # Django logs an error response once (`log_response`): the page it logged is this answer.
        replacement._has_been_logged = getattr(response, "_has_been_logged", False)
        _telemetry.relabel(native, status)
        return replacement


def _headers(response: Any) -> list[tuple[bytes, bytes]]:
    return [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in response.items()]


def _set(response: Any, headers: Iterable[tuple[bytes, bytes]]) -> None:
    """Make `headers` a response's only headers (its cookies stay: Django keeps them apart).

    Django checks every header it is given: one the response has already, with the
    same value (its `Content-Type`, say), is left as it is.
    """
    present = response.headers
    wanted = {key.decode("latin-1"): value.decode("latin-1") for key, value in headers}
    for key in [key for key in present if key.lower() not in wanted]:  # the answer's names are lowercase
        del present[key]
    for key, value in wanted.items():
        if present.get(key) != value:
            present[key] = value


def _configured() -> dict[str, Any]:
    """The middleware's options from the `PROBLEMDETAILS` setting."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    setting = getattr(settings, SETTING, None)
    if not isinstance(setting, dict) or "CATALOG" not in setting:
        raise ImproperlyConfigured(
            f'{PATH} needs the {SETTING} setting, with at least the catalog: {SETTING} = {{"CATALOG": "catalog/"}}'
        )
    if list(settings.MIDDLEWARE).count(PATH) > 1:
        raise ImproperlyConfigured(f"{PATH} is listed twice in MIDDLEWARE: list it once, first")
    options = {name.lower(): value for name, value in setting.items()}
    known = set(inspect.signature(Transport.__init__).parameters) - {"self", "app"}
    unknown = sorted(name.upper() for name in options if name not in known)
    if unknown:
        raise ImproperlyConfigured(f"{SETTING} has no option {', '.join(unknown)}: its options are ProblemMiddleware's")
    return options


def _catalog(given: object) -> Catalog:
    """`CATALOG` as the settings give it: a `Catalog`, a path, or a list of paths (loaded once, here)."""
    return given if isinstance(given, Catalog) else Catalog.load(given)  # type: ignore[arg-type]
