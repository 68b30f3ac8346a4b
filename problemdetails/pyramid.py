"""Pyramid's convention: `config.include("problemdetails.pyramid")`, configured by settings.

```ini
problemdetails.catalog = catalog/
problemdetails.exception_map = myapp.errors.EXCEPTION_MAP   # a dotted name, if any
problemdetails.docs_path = /errors/
```

Every `ProblemMiddleware` option is a `problemdetails.<option>` setting (`debug`,
`www_authenticate`, `rewrite_error_responses`, `request_id_from_trace` as
Pyramid reads booleans; `exception_map`, `instance`, `enrich` as dotted names).
The include adds:

    an execution policy    ─► around every tween and view: the request's exchange (its id,
                              `current_request_id()`); an error page replaced; `X-Request-ID` on every
                              response; a stream failing mid-body logged
    exception views        ─► for `Exception` and Pyramid's `HTTPException`: the problem's response

The app's own exception views win: Pyramid resolves an include's view in favour
of the includer's for the same context, and a narrower context wins anyway. The
not-found view is Pyramid's `HTTPNotFound`, and the forbidden view its
`HTTPForbidden`, both answered here; a route whose predicates all mismatch
(another `request_method`, say) is Pyramid's `PredicateMismatch`, a 404.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import MutableMapping
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._context import serving
from problemdetails._decider import HELD_BODY_LIMIT
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import docs_answer, handover_of, header_fields, watched
from problemdetails._request import request_of
from problemdetails._responder import Answer, is_problem
from problemdetails._transport import Transport

__all__ = ["includeme"]

PREFIX = "problemdetails."
_LAYER = "problemdetails"  # the registry's key for the layer
_FLAGS = frozenset({"debug", "rewrite_error_responses", "integrate", "request_id_from_trace"})
_DOTTED = frozenset({"exception_map", "instance", "enrich", "profile", "logger"})


def includeme(config: Any) -> None:
    """Pyramid's include: the layer's tween and exception views, from the `problemdetails.*` settings."""
    from pyramid.httpexceptions import HTTPException

    config.registry[_LAYER] = Transport(None, **_options(config))
    config.set_execution_policy(execution_policy)
    config.add_exception_view(answer, context=Exception)
    config.add_exception_view(answer, context=HTTPException)


def _options(config: Any) -> dict[str, Any]:
    """`ProblemMiddleware`'s options from the settings: `problemdetails.catalog` at least."""
    from pyramid.exceptions import ConfigurationError
    from pyramid.settings import asbool

    settings = config.get_settings()
    options: dict[str, Any] = {}
    for key, value in settings.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :]
        if name in _FLAGS:
            options[name] = asbool(value)
        elif name in _DOTTED:
            options[name] = config.maybe_dotted(value)
        else:
            options[name] = value
    known = set(inspect.signature(Transport.__init__).parameters) - {"self", "app"}
    unknown = sorted(PREFIX + name for name in options if name not in known)
    if unknown:
        raise ConfigurationError(f"no such setting {', '.join(unknown)}: the options are ProblemMiddleware's")
    catalog = options.get("catalog")
    if catalog is None:
        raise ConfigurationError("problemdetails.pyramid needs the setting problemdetails.catalog = <catalog path>")
    if not isinstance(catalog, Catalog):
        options["catalog"] = Catalog.load(catalog)
    return options


def execution_policy(environ: MutableMapping[str, Any], router: Any) -> Any:
    """Pyramid's execution policy (`config.include` sets it): the request layer around every tween and view.

    Pyramid's own runs the router's request; this one serves it (its id,
    `current_request_id()`, the doc site), answers what no exception view
    took (a tween of the app's raised it), and sends every response out
    through `_leave`.
    """
    transport: Transport = router.registry[_LAYER]
    exchange = transport.enter(environ)
    token = serving.set(environ)  # `current_request_id()` for the app's code
    try:
        docs = _docs(transport, environ)
        if docs is not None:
            return docs
        with router.request_context(environ) as request:
            try:
                response = router.invoke_request(request)
            except Exception:  # raised above Pyramid's exception views: they answer it (ours among them)
                response = request.invoke_exception_view(reraise=True)
        return _leave(transport, environ, response)
    except Exception as exc:  # what no exception view answered
        responder = transport.responder
        return _response(responder.raised(responder.unwrap(exc), request_of(environ)))
    finally:
        serving.reset(token)
        transport.leave(exchange)


def answer(exc: Exception, request: Any) -> Any:
    """The exception view: the problem's response (a redirect, Pyramid's own, passes as it is)."""
    from pyramid.httpexceptions import HTTPException

    if isinstance(exc, HTTPException) and exc.code < 400:
        return exc  # a redirect is a response of Pyramid's own
    native: MutableMapping[str, Any] = request.environ
    handover = handover_of(native)
    if handover is None:  # the include's execution policy does not serve the request (the app set its own)
        raise exc
    problem = handover.claim(native, exc)
    if problem is None:  # a crash: decided and logged with its traceback
        handover.keep(native, exc)
        exchange = exchange_of(native)
        problem = exchange.problem if exchange is not None else None
        if problem is None:
            raise exc
    return _response(handover.response(native, problem))


def _leave(transport: Transport, native: MutableMapping[str, Any], response: Any) -> Any:
    """A response on its way out: an error page replaced by its problem, `X-Request-ID` on every one."""
    exchange = exchange_of(native)
    if exchange is None:
        return response
    status = response.status_code
    answered = exchange.answered
    if status >= 400 and transport.rewrite_error_responses and not (answered is not None and answered[0] == status):
        headers = header_fields(response.headerlist, transport.responder.logger)
        if not is_problem(headers):
            body = b"" if response.app_iter is None or not _held(response) else response.body[:HELD_BODY_LIMIT]
            return _response(transport.handover.replaced(native, status, headers, body))
    if "X-Request-ID" not in response.headers:
        response.headers["X-Request-ID"] = exchange.request_id.decode("latin-1")
    if status < 400 and not _held(response):
        # The body is read by the server after this returns: a failure then is logged here first.
        failed = functools.partial(_failed, transport, native)
        response.app_iter = watched(response.app_iter, failed)
    return response


def _held(response: Any) -> bool:
    """The response's body is in memory (not an iterator the server reads later)."""
    return isinstance(response.app_iter, (list, tuple))


def _failed(transport: Transport, native: MutableMapping[str, Any], exc: Exception) -> None:
    # RFC 9110 has no way to take back a status line: the server aborts, the client sees truncation.
    transport.responder.log_exception(exc, "exception after the response started; aborting", request_of(native))


def _docs(transport: Transport, native: MutableMapping[str, Any]) -> Any:
    """A file of the doc site under `docs_path`, as Pyramid's response; None when there is none."""
    docs = transport.docs
    path = native.get("PATH_INFO", "")
    if docs is None or native.get("REQUEST_METHOD") not in ("GET", "HEAD") or not path.startswith(docs.path):
        return None
    answer = docs_answer(docs, native, path, native.get("QUERY_STRING", "").encode("latin-1"))
    return _response(answer) if answer is not None else None


def _response(answer: Answer) -> Any:
    """The answer as Pyramid's (WebOb's) response. HEAD: the server sends GET's headers and no body."""
    from pyramid.response import Response

    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in answer.headers]
    # The answer's `Content-Length` stands (GET's, for HEAD): WebOb computes none for a given `app_iter`.
    return Response(status=answer.status, headerlist=headers, app_iter=[answer.body])
