"""Litestar: it answers every exception itself, so a handler in its registry hands each one over.

Litestar resolves `exception_handlers` from the app's layer on every request,
so the hand-over adds one for `Problem` and, unless the app has its own, one
for `Exception` to `app.exception_handlers`; yours, by status or by a narrower
class, still win, and an `Exception` handler of yours is chained to, not
replaced: a crash is decided (logged once) first, then your handler runs.

Where the request layer goes differs by how it is installed, because
Litestar's `middleware=` runs per route, only once a route matched (its router
404 and 405 never see it), and a plugin sees the `AppConfig`, never the app:

- `problemdetails.install(app)` wraps `app.asgi_handler`, the stack
  `Litestar.__call__` runs for every request, router errors included.
- `problemdetails.litestar.ProblemDetailsPlugin` puts one middleware in front
  of every route (first in `middleware=`), and its exception handler runs that
  same middleware for what fails before a route matched (404, 405, `docs_path`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._exchange import exchange_of
from problemdetails._grammar import json_pointer
from problemdetails._handovers.base import (
    LOCATIONS,
    Framework,
    HandOver,
    error_items,
    handover_of,
    item_params,
    status_of,
)
from problemdetails._member_types import ErrorItem, ParamValue
from problemdetails._problem import Problem
from problemdetails._response import choose_media_type
from problemdetails._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Litestar", "chain_layers", "litestar_exception_handlers", "plugged"]

Handler = Callable[[Any, Exception], Any]


def litestar_exception_handlers() -> dict[int | type[Exception], Callable[[Any, Any], Any]]:
    """Litestar `exception_handlers` that hand every exception to `ProblemMiddleware`.

    `ProblemMiddleware` installs the handler itself when it wraps a Litestar
    app. Pass it yourself when it cannot see the app (`integrate=False`, or
    the app is wrapped in something else first):

    ```python
    app = ProblemMiddleware(
        Litestar(route_handlers=[...], exception_handlers=litestar_exception_handlers()), catalog=catalog
    )
    ```

    Each handler hands the exception to the middleware and answers with the
    problem's response (a raised `Problem`, a mapped exception, Litestar's own
    `HTTPException` and `ValidationException`, and the 500 problem of a crash).
    """
    return {Exception: _handler}


def _handler(request: Any, exc: Exception) -> Any:
    return _answer(request, exc, None)


def _chained(app_handler: Handler) -> Handler:
    """The app's own `Exception` handler, behind the hand-over: it still runs for every crash."""

    def handler(request: Any, exc: Exception) -> Any:
        return _answer(request, exc, app_handler)

    handler.__wrapped__ = app_handler  # type: ignore[attr-defined]
    return handler


def _answer(request: Any, exc: Exception, app_handler: Handler | None) -> Any:
    from litestar import MediaType, Response

    scope = request.scope
    handover = handover_of(scope)
    problem = handover.claim(scope, exc) if handover is not None else None
    if handover is not None and problem is None:
        handover.keep(scope, exc)  # a crash: decided and logged here, once
        if app_handler is not None:
            # The app's own handler runs; a problem it returns goes out as is, another page is replaced.
            return app_handler(request, exc)
        if request.app.debug and choose_media_type(_accept(scope)) == "html":
            from litestar.exceptions.responses import create_debug_response

            # With `Litestar(debug=True)` a browser gets Litestar's own debug page for a crash.
            return _Final(create_debug_response(request, exc))
        problem = _decided(scope)
    elif app_handler is not None and handover is None:
        return app_handler(request, exc)
    if handover is None or problem is None:  # no middleware serves it: an empty response of its status
        return Response(content=b"", status_code=status_of(exc), media_type=MediaType.TEXT)
    answer = handover.response(scope, problem)
    return Response(content=answer.body, status_code=answer.status, media_type=answer.media_type)


def _decided(scope: Scope) -> Problem | None:
    exchange = exchange_of(scope)
    return exchange.problem if exchange is not None else None


def _accept(scope: Scope) -> bytes:
    return b",".join(value for key, value in scope["headers"] if key == b"accept")


class _Final:
    """A response of Litestar's own that the layer outside sends as it is (the debug page of a crash).

    Its status and headers are the answer (`Exchange.answered`), with the
    request's id: the layer passes them on rather than replacing the page.
    """

    __slots__ = ("response",)

    def __init__(self, response: Any) -> None:
        self.response = response

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIApp:
        inner = self.response.to_asgi_response(*args, **kwargs)

        async def final(scope: Scope, receive: Receive, send: Send) -> None:
            async def sent(message: Message) -> None:
                exchange = exchange_of(scope)
                if message["type"] == "http.response.start" and exchange is not None:
                    headers = [*message.get("headers", ()), (b"x-request-id", exchange.request_id)]
                    exchange.answered = message["status"], headers
                    message = {**message, "headers": headers}
                await send(message)

            await inner(scope, receive, sent)

        return final


def _hook_up(registry: dict[Any, Any], logging_config: Any, handler: Handler, ours: Callable[[Scope], bool]) -> None:
    """Put the hand-over's handlers in an app's (or an `AppConfig`'s) registry, and quiet Litestar's crash log."""
    registry.setdefault(Problem, handler)
    app_handler = registry.get(Exception)
    if app_handler is None:
        registry[Exception] = handler
    elif not _is_ours(app_handler):
        registry[Exception] = _chained(app_handler)
    log = getattr(logging_config, "exception_logging_handler", None)
    if log is not None and not _is_ours(log):
        # Litestar logs every exception it catches (with debug on, by default) before any handler
        # runs: a problem or crash this layer answers is logged once, by the layer, with its request id.
        def quiet(logger: Any, scope: Scope, traceback: list[str]) -> None:
            if not ours(scope):
                log(logger, scope, traceback)

        quiet.__wrapped__ = log  # type: ignore[attr-defined]
        logging_config.exception_logging_handler = quiet


def chain_layers(route: Any) -> None:
    """Chain to the catch-all of each router, controller and route handler below the app that serve `route`.

    Litestar merges the handler registries of every layer from the app down to
    the route handler, the nearest winning: an `Exception` (or `500`) handler of
    a controller would take every crash, HTTP error and mapped exception of its
    routes before the app's. Chained, it still runs for each crash, after the
    hand-over has claimed what it answers and kept the crash (logged once).
    """
    for handler in getattr(route, "route_handlers", ()):
        for layer in handler.ownership_layers[1:]:  # the app's own registry is hooked up already
            registry = getattr(layer, "exception_handlers", None)
            if not isinstance(registry, dict):
                continue
            caught = registry.get(Exception, registry.get(500))
            if caught is not None and not _is_ours(caught):
                registry[Exception] = _chained(caught)


def _is_ours(function: Any) -> bool:
    return getattr(function, "__module__", None) == __name__


def _served(scope: Scope) -> bool:
    return handover_of(scope) is not None


class Litestar(Framework):
    module = "litestar"
    apps = frozenset({"litestar.app.Litestar"})

    def install(self, app: Any, handover: HandOver) -> None:
        registry = getattr(app, "exception_handlers", None)
        if isinstance(registry, dict):
            _hook_up(registry, getattr(app, "logging_config", None), _handler, _served)
        for route in getattr(app, "routes", ()):
            chain_layers(route)

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        from problemdetails._asgi import ProblemMiddleware

        _refuse_twice(app)
        # `Litestar.__call__` runs `asgi_handler` for every HTTP request once it has put the app in
        # the scope: the router (404, 405) and the app's exception handlers are inside it.
        app.asgi_handler = ProblemMiddleware(app.asgi_handler, **options)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from litestar.exceptions import HTTPException

        if not isinstance(exc, HTTPException):
            return None
        status = exc.status_code
        errors = litestar_error_items(exc.extra)
        problem = problem_for_status(catalog, status, client_detail(status, exc.detail), errors)
        problem.headers.update(exc.headers or {})
        return problem

    def rendered(self, status: int, document: object, catalog: Catalog) -> Problem | None:
        """Litestar's own error page with validation items, `{"detail", "extra": [...]}`: its items as `errors`."""
        if not isinstance(document, dict):
            return None
        errors = litestar_error_items(document.get("extra"))
        if errors is None:
            return None
        return problem_for_status(catalog, status, client_detail(status, document.get("detail")), errors)


def _refuse_twice(app: Any) -> None:
    from problemdetails._asgi import ProblemMiddleware

    layer, seen = app.asgi_handler, 0
    while layer is not None and layer is not app and seen < 32:
        if isinstance(layer, ProblemMiddleware):
            raise RuntimeError(
                "problemdetails is installed in this Litestar already: install it once "
                "(a ProblemMiddleware outside the app, as a guard, is fine)"
            )
        layer, seen = getattr(layer, "app", None), seen + 1
    if any(type(plugin).__name__ == "ProblemDetailsPlugin" and _is_plugin(plugin) for plugin in app.plugins):
        raise RuntimeError(
            "problemdetails is installed in this Litestar already (ProblemDetailsPlugin): "
            "use the plugin or problemdetails.install(), not both"
        )


def _is_plugin(plugin: object) -> bool:
    return type(plugin).__module__ == "problemdetails.litestar"


# -- the plugin (`problemdetails.litestar.ProblemDetailsPlugin`) -----------------------------------


def plugged(app_config: Any, options: dict[str, Any]) -> Any:
    """`app_config` with the request layer in front of every route and the hand-over's handlers in its registry."""
    from litestar.middleware import DefineMiddleware

    from problemdetails._asgi import ProblemMiddleware

    if any(isinstance(entry, DefineMiddleware) and entry.middleware is _in_front for entry in app_config.middleware):
        raise RuntimeError("problemdetails is installed in this Litestar already: list ProblemDetailsPlugin once")
    # One middleware (one responder, one doc site) for the whole app, whatever number of routes;
    # it hooks nothing itself: the registry is the config's, filled here.
    layer = ProblemMiddleware(_no_app, integrate=False, **options)

    def handler(request: Any, exc: Exception) -> Any:
        if handover_of(request.scope) is None:
            # Before a route matched (router 404 and 405, and `docs_path`, which is no route):
            # no layer is in front yet, so the layer answers the exception itself.
            return _Around(layer, exc)
        return _answer(request, exc, None)

    _hook_up(app_config.exception_handlers, app_config.logging_config, handler, _http)
    # First in `middleware=`: the outermost layer of each route's stack.
    app_config.middleware.insert(0, DefineMiddleware(_in_front, layer=layer))
    return app_config


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the plugin's layer runs in front of a route only")  # pragma: no cover


def _in_front(app: ASGIApp, layer: Any) -> Any:
    """The plugin's layer in front of one route's stack: a copy that shares its responder and doc site."""
    route_layer = copy.copy(layer)
    route_layer.app = app
    return route_layer


def _http(scope: Scope) -> bool:
    # Under the plugin, every HTTP exception is answered by its layer: in front of the route, or in
    # the handler for what failed before one matched.
    return bool(scope["type"] == "http")


class _Around:
    """What the plugin's handler answers an exception raised before a route matched with: its layer, around it."""

    __slots__ = ("exc", "layer")

    def __init__(self, layer: Any, exc: Exception) -> None:
        self.layer, self.exc = layer, exc

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIApp:
        exc = self.exc

        async def raising(scope: Scope, receive: Receive, send: Send) -> None:
            raise exc

        return _in_front(raising, self.layer)  # type: ignore[no-any-return]


def litestar_error_items(extra: object) -> list[ErrorItem] | None:
    """Litestar's validation `extra` as `errors` items, if it has a shape Litestar gives it.

    Its signature model reports msgspec's messages (`message`, `key`, `source`);
    a `PydanticDTO` reports pydantic's errors (`loc`, `msg`, `type`, `ctx`) as
    they are.
    """
    if not isinstance(extra, list) or not extra or not all(isinstance(item, dict) for item in extra):
        return None
    if all("loc" in item and "msg" in item for item in extra):
        return error_items(extra)
    if not all("message" in item for item in extra):
        return None
    items: list[ErrorItem] = []
    for item in extra:
        key, source, detail = item.get("key"), item.get("source"), str(item["message"])
        code, params = _msgspec_rule(detail)
        if source in LOCATIONS and key is not None:
            items.append(ErrorItem(detail=detail, parameter=str(key), in_=source, code=code, params=params))
        else:
            pointer = json_pointer(_msgspec_path(key))
            items.append(ErrorItem(detail=detail, pointer=pointer, code=code, params=params))
    return items


# msgspec states a failed rule in prose only (`Expected `str` of length >= 3`): each of its
# messages, read back as the rule's code and parameters. The codes are pydantic's, so one set of
# translated messages serves FastAPI and Litestar alike.
_NUMBER = r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
_MSGSPEC_RULES: tuple[tuple[re.Pattern[str], str, str | None], ...] = (
    (re.compile(rf"Expected `str` of length >= {_NUMBER}"), "string_too_short", "min_length"),
    (re.compile(rf"Expected `str` of length <= {_NUMBER}"), "string_too_long", "max_length"),
    (re.compile(rf"Expected `(?:array|object|bytes)` of length >= {_NUMBER}"), "too_short", "min_length"),
    (re.compile(rf"Expected `(?:array|object|bytes)` of length <= {_NUMBER}"), "too_long", "max_length"),
    (re.compile(rf"Expected `(?:int|float|decimal)` >= {_NUMBER}"), "greater_than_equal", "ge"),
    (re.compile(rf"Expected `(?:int|float|decimal)` > {_NUMBER}"), "greater_than", "gt"),
    (re.compile(rf"Expected `(?:int|float|decimal)` <= {_NUMBER}"), "less_than_equal", "le"),
    (re.compile(rf"Expected `(?:int|float|decimal)` < {_NUMBER}"), "less_than", "lt"),
    (re.compile(rf"Expected `(?:int|float|decimal)` that's a multiple of {_NUMBER}"), "multiple_of", "multiple_of"),
    (re.compile(r"Expected `str` matching regex '(.*)'"), "string_pattern_mismatch", "pattern"),
    (re.compile(r"Object missing required field `.*`"), "missing", None),
    (re.compile(r"Object contains unknown field `.*`"), "extra_forbidden", None),
    (re.compile(r"Invalid enum value .*"), "enum", None),
)
# `Expected `int`, got `str``: pydantic's `int_type`, `string_type`, ...
_MSGSPEC_TYPE = re.compile(r"Expected `(\w+)(?: \| null)?`, got `\w+`")
_TYPE_CODES = {"str": "string", "array": "list", "object": "dict"}


def _msgspec_rule(message: str) -> tuple[str | None, dict[str, ParamValue] | None]:
    """The code and parameters of the rule a msgspec message states, or (None, None) for prose it does not know."""
    for pattern, code, param in _MSGSPEC_RULES:
        match = pattern.fullmatch(message)
        if match is not None:
            if param is None:
                return code, None
            text = match.group(1)
            return code, item_params({param: text if param == "pattern" else _number(text)})
    match = _MSGSPEC_TYPE.fullmatch(message)
    if match is not None:
        return f"{_TYPE_CODES.get(match.group(1), match.group(1))}_type", None
    return None, None


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _msgspec_path(key: object) -> list[str]:
    """The segments of a body location as Litestar reports it: msgspec's path (`$.profile.color`, `tags[1]`)."""
    if key is None:
        return []
    text = str(key)
    return re.findall(r"[^.\[\]]+", text.removeprefix("$.").removeprefix("$"))
