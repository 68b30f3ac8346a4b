"""Django REST framework: its exception handler setting hands every `APIException` over as its problem.

```python
REST_FRAMEWORK = {"EXCEPTION_HANDLER": "problemdetails.drf_exception_handler"}
```

DRF answers its exceptions in the view, with its own handler, before Django
sees anything; with this setting that handler claims each one for the
middleware (Django's hand-over does the rest). Field errors become `errors`
items: `{"profile": {"color": ["..."]}}` is `pointer: "#/profile/color"`,
with DRF's error code as the item's `code` and the field's limit that the code
names as its `params` (`max_length` -> `{"max_length": 20}`).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterator
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._decider import client_detail, problem_for_status
from problemdetails._grammar import json_pointer
from problemdetails._handovers.base import Framework, handover_of, item_params
from problemdetails._handovers.django import django_response, native_of
from problemdetails._member_types import ErrorItem, ParamValue
from problemdetails._problem import Problem

__all__ = ["DRF", "drf_error_items", "drf_exception_handler"]


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's `EXCEPTION_HANDLER`: every DRF `APIException` (and raised problem) leaves as its catalogued problem.

    Set it once in `settings.py`, with the app wrapped in `ProblemMiddleware`
    (ASGI) or `WSGIProblemMiddleware` (WSGI):

    ```python
    REST_FRAMEWORK = {"EXCEPTION_HANDLER": "problemdetails.drf_exception_handler"}
    ```

    Without a middleware outside, it is DRF's own handler.
    """
    from rest_framework.views import exception_handler, set_rollback

    request = context.get("request")
    native = native_of(request)
    handover = handover_of(native)
    if handover is None or native is None:
        return exception_handler(exc, context)
    problem = handover.claim(native, exc)
    if problem is None:
        return None  # a crash: DRF re-raises it, and Django's hand-over keeps it
    set_rollback()  # as DRF's own handler does: the request's atomic block must not commit
    view = context.get("view")
    methods = getattr(view, "allowed_methods", None) if problem.status == 405 else None
    if methods:
        problem.headers["Allow"] = ", ".join(methods)
    return django_response(handover, native, problem)


def drf_error_items(detail: Any, codes: Any, serializer: Any = None) -> list[ErrorItem]:
    """A DRF `ValidationError`'s `detail` (and `get_codes()`), nested as it comes, as `errors` items.

    With the `serializer` that raised it, each item whose code names a limit of
    its field (`max_length`, `min_value`, ...) carries that limit as `params`.
    """
    from rest_framework.settings import api_settings

    items: list[ErrorItem] = []
    for path, message, code in _walk(detail, codes, []):
        top_level = len(path) == 1 and path[0] == api_settings.NON_FIELD_ERRORS_KEY
        where = path[:-1] if path and path[-1] == api_settings.NON_FIELD_ERRORS_KEY else path
        pointer = None if top_level or not where else json_pointer(where)
        code = str(code) if code else None
        params = _limit(_field_at(serializer, where), code) if serializer is not None and code else None
        items.append(ErrorItem(detail=str(message), pointer=pointer, code=code, params=params))
    return items


def raising_serializer(exc: BaseException) -> Any:
    """The serializer whose `is_valid(raise_exception=True)` raised `exc`, if it did.

    DRF formats a field's limit into its message (`Ensure this field has no more
    than {max_length} characters.`) and keeps only the code; the field that
    holds the limit is on the serializer, a local of that frame.
    """
    from rest_framework.serializers import BaseSerializer

    traceback = exc.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        candidate = frame.f_locals.get("self") if frame.f_code.co_name == "is_valid" else None
        if isinstance(candidate, BaseSerializer):
            return candidate
        traceback = traceback.tb_next
    return None


def _field_at(serializer: Any, path: list[object]) -> Any:
    """The field of `serializer` at an error's path (`["items", 0, "qty"]`), or None."""
    field = serializer
    for segment in path:
        fields = getattr(field, "fields", None)  # a serializer's, by name
        if isinstance(segment, str) and fields is not None:
            field = fields.get(segment)
        else:  # an item of a list or a value of a dict: the child field holds the rules of each
            field = getattr(field, "child", None)
    return field


# A code whose limit the field keeps under another name.
_LIMIT_ATTRIBUTES = {"max_decimal_places": "decimal_places"}


def _limit(field: Any, code: str) -> dict[str, ParamValue] | None:
    """`{code: limit}` when `field` has the limit an error's `code` names (`max_length`), else None."""
    value = getattr(field, _LIMIT_ATTRIBUTES.get(code, code), None) if field is not None else None
    is_limit = isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)  # not `required`
    return item_params({code: value}) if is_limit else None


def _walk(detail: Any, codes: Any, path: list[object]) -> Iterator[tuple[list[object], object, object]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = codes.get(key) if isinstance(codes, dict) else None
            yield from _walk(value, inner, [*path, key])
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            inner = codes[index] if isinstance(codes, list) and index < len(codes) else None
            # A list of messages belongs to the field; a list of objects (`many=True`) is indexed.
            yield from _walk(value, inner, path if isinstance(value, str) else [*path, index])
    else:
        yield path, detail, codes if isinstance(codes, str) else getattr(detail, "code", None)


class DRF(Framework):
    module = "rest_framework"
    apps = frozenset()  # no app of its own: it lives inside Django's

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        from rest_framework import exceptions

        if isinstance(exc, exceptions.ValidationError):
            errors = drf_error_items(exc.detail, exc.get_codes(), raising_serializer(exc))
            # A ValidationError whose detail is one message has no field: the message is the detail.
            detail = exc.detail if isinstance(exc.detail, str) else None
            return problem_for_status(catalog, exc.status_code, client_detail(exc.status_code, detail), errors)
        if not isinstance(exc, exceptions.APIException):
            return None
        status = exc.status_code
        problem = problem_for_status(catalog, status, client_detail(status, exc.detail))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:  # set by the view from its authenticators (NotAuthenticated, AuthenticationFailed)
            problem.headers["WWW-Authenticate"] = str(auth_header)
        wait = getattr(exc, "wait", None)
        if wait:  # Throttled
            problem.headers["Retry-After"] = str(math.ceil(wait))
        return problem
