"""Connexion 3 (AsyncApp and FlaskApp): `problemdetails.install(app, catalog=...)` answers its errors with problems.

Connexion answers every error itself, in its `ExceptionMiddleware`, with problem
documents of its own (`about:blank`, no `code`, no request id, a validation
failure as one line of text); a wrapper outside passes them on as problems.
Installed, in Connexion's own ways:

    app.add_middleware(ProblemMiddleware, position=BEFORE_EXCEPTION)  ─► ids, pages, `X-Request-ID`
    app.add_error_handler(...)   ─► Connexion's `ProblemException`s, Starlette's `HTTPException`s,
                                    raised problems and crashes: the problem's response
    validator_map                ─► its OpenAPI request validation, every failure an `errors` item:
                                    a body's with its JSON Pointer, a parameter's with `parameter`, `in`

Error handlers the app registered for the same exception or status stay its own,
and so does a validator it gave for a media type.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Literal

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import Framework, handover_of, jsonschema_item
from problemdetails._member_types import ErrorItem
from problemdetails._problem import Problem

__all__ = ["Connexion"]

_INSTALLED = "_problemdetails_installed"
Location = Literal["query", "path", "header", "cookie"]


class Connexion(Framework):
    module = "connexion"
    apps = frozenset({"connexion.apps.abstract.AbstractApp"})

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """The layer in Connexion's middleware stack, its error handlers, and its request validators."""
        from connexion.exceptions import ProblemException
        from connexion.middleware import MiddlewarePosition
        from starlette.exceptions import HTTPException

        from problemdetails._asgi import ProblemMiddleware

        middleware = app.middleware
        if getattr(middleware, _INSTALLED, False):
            raise RuntimeError(f"problem details are installed in this {type(app).__name__} already")
        if middleware.middleware_stack is not None:
            raise RuntimeError(f"install problem details before the {type(app).__name__} starts")
        # Outside Connexion's exception middleware (inside Starlette's last-resort one): it sees every answer.
        app.add_middleware(ProblemMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, **options)
        taken = {key for key, _ in middleware.error_handlers}
        for key in (ProblemException, HTTPException, Problem, Exception):
            if key not in taken:
                app.add_error_handler(key, answer)
        validators = _validator_map()
        middleware.options = middleware.options.replace(
            validator_map=_merged(middleware.options.validator_map, validators)
        )
        for api in middleware.apis:  # added already: each took the options of its time
            api.kwargs["validator_map"] = _merged(api.kwargs.get("validator_map"), validators)
        setattr(middleware, _INSTALLED, True)

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """Connexion's `ProblemException`s: an invalid request's `errors`, else its status, a 4xx's detail, its headers.

        Its FlaskApp raises werkzeug's errors again as Starlette's `HTTPException`, with
        werkzeug's default description as `detail`: that one is no message of the app's.
        """
        from connexion.exceptions import ProblemException
        from starlette.exceptions import HTTPException

        if isinstance(exc, HTTPException) and not isinstance(exc, ProblemException) and _werkzeugs(exc):
            problem = problem_for_status(catalog, exc.status_code)
            problem.headers.update(exc.headers or {})
            return problem
        if not isinstance(exc, ProblemException) or not isinstance(exc.status, int) or exc.status < 400:
            return None
        items = getattr(exc, "items", None)
        if isinstance(items, list):  # the validators' (`_validator_map`)
            return problem_for_status(catalog, exc.status, errors=items)
        problem = problem_for_status(catalog, exc.status, client_detail(exc.status, exc.detail))
        problem.headers.update({str(name): str(value) for name, value in (exc.headers or {}).items()})
        return problem


def _werkzeugs(exc: Any) -> bool:
    """`exc` carries werkzeug's default description for its status (Connexion's FlaskApp raised it again)."""
    werkzeug = sys.modules.get("werkzeug.exceptions")
    default = werkzeug.default_exceptions.get(exc.status_code) if werkzeug is not None else None
    return default is not None and exc.detail == default.description


async def answer(request: Any, exc: Exception) -> Any:
    """Connexion's error handler: the problem's response; a crash's is the 500 problem, logged with its traceback.

    A coroutine function: Connexion runs any other error handler in a worker thread, and
    deciding a problem never blocks.
    """
    from connexion.lifecycle import ConnexionResponse

    scope = request.scope
    handover = handover_of(scope)
    if handover is None:  # no layer serves the request: Connexion's own answer
        raise exc
    problem = handover.claim(scope, exc)
    if problem is None:  # a crash: decided (logged with its traceback) as the framework's crash path does
        handover.keep(scope, exc)
        exchange = exchange_of(scope)
        problem = exchange.problem if exchange is not None else None
        if problem is None:
            raise exc
    status, headers, body = handover.response(scope, problem)
    media_type = headers[0][1].decode("latin-1")  # the answer's first header is its media type
    fields = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers[1:]}
    return ConnexionResponse(status_code=status, mimetype=media_type, body=body, headers=fields)


def _merged(given: Mapping[str, Any] | None, ours: Mapping[str, Any]) -> dict[str, Any]:
    """The app's validator map over ours: a validator it chose stays its own."""
    from connexion.datastructures import MediaTypeDict

    merged: dict[str, Any] = dict(ours)
    for key, value in (given or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = MediaTypeDict({**merged[key], **value})
        else:
            merged[key] = value
    return merged


def _validator_map() -> dict[str, Any]:
    """Connexion's request validators, each reporting every failure as an `errors` item."""
    from connexion.datastructures import MediaTypeDict
    from connexion.exceptions import BadRequestProblem
    from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator

    class Invalid(BadRequestProblem):  # type: ignore[misc]
        """An invalid request, with its `errors` items (Connexion's 400)."""

        def __init__(self, items: list[ErrorItem]) -> None:
            super().__init__(detail="; ".join(item.detail for item in items))
            self.items = items

    class Body(JSONRequestBodyValidator):  # type: ignore[misc]
        def _validate(self, body: Any) -> Any:
            if not self._nullable and body is None:
                raise BadRequestProblem("Request body must not be empty")
            items = [jsonschema_item(error) for error in self._validator.iter_errors(body)]
            if items:
                raise Invalid(items)
            return body

    class Parameters(ParameterValidator):  # type: ignore[misc]
        def validate_request(self, request: Any) -> None:
            if self.strict_validation:
                super().validate_request(request)  # its `ExtraParameterProblem` for an unknown query parameter
                return
            readers: dict[Location, Any] = {
                "query": self.validate_query_parameter,
                "path": self.validate_path_parameter,
                "header": self.validate_header_parameter,
                "cookie": self.validate_cookie_parameter,
            }
            items: list[ErrorItem] = []
            for location, read in readers.items():
                for param in self.parameters.get(location, []):
                    error = read(param, request)
                    if error:
                        items.append(_parameter_item(str(param["name"]), location, str(error)))
            if items:
                raise Invalid(items)

    body = MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": Body})
    return {"parameter": Parameters, "body": body}


def _parameter_item(name: str, location: Location, error: str) -> ErrorItem:
    """A parameter's failure as an `errors` item: Connexion's message, its first line (the rest is the schema)."""
    detail = error.splitlines()[0] if error.strip() else "invalid"
    return ErrorItem(detail=detail[:1000], parameter=name, in_=location)
