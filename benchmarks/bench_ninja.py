"""Django Ninja, in-process through Django's WSGI handler: a view raising a 409, beside django-ninja-problems.

The contenders, each a Django WSGI handler of its own whose requests resolve `/zones` to a Ninja API
of its own (`bench_wsgi.configure_django`'s settings, no middleware but problemdetails' own):
- the floor: the operation returns the pre-encoded problem bytes itself;
- Ninja's own exception path: the operation raises, and an exception handler of the API's returns
  those bytes (what a hand-written integration does at the least);
- django-ninja-problems, the nearest peer: `register_problem_handlers(api)`, the operation raising its
  `ConflictProblem` with the same members;
- problemdetails: `install(api, ...)` and its Django layer installed in the handler (what the
  `MIDDLEWARE` setting does); and the floor under that layer alone, for what the layer costs on
  every response.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from benchmarks.bench_wsgi import (
    CATALOG,
    DETAIL,
    FLOOR_BODY,
    _urlconf,
    check,
    configure_django,
    measure,
)
from benchmarks.report import error_table
from problemdetails import JSON_MEDIA_TYPE, install

FLOOR = "floor: the operation returns the pre-encoded bytes"
OWN_PATH = "Ninja's own exception path (an exception handler of the API's returning the floor's bytes)"
PEER = "django-ninja-problems"
LAYERED = "the floor, under problemdetails' Django layer (its cost on a response it passes on)"
INSTALLED = "problemdetails (`install(api, ...)` and its Django layer installed)"

_names = (f"ninja_{n}" for n in itertools.count())


class Raised(Exception):
    """What the own-path operation raises."""


def handler_for(api: Any) -> Any:
    """A Django WSGI handler of its own whose requests resolve the API's routes only."""
    from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
    from django.urls import path

    urlconf = _urlconf(api.urls_namespace, [path("", api.urls)])
    handler = WSGIHandler()
    handler.request_class = type("Request", (WSGIRequest,), {"urlconf": urlconf})
    return handler


def contenders() -> dict[str, Any]:
    configure_django()
    from django.http import HttpResponse
    from django_ninja_problems import ConflictProblem, register_problem_handlers
    from ninja import NinjaAPI

    def api_raising(exc_factory: Any) -> Any:
        api = NinjaAPI(urls_namespace=next(_names))

        @api.get("/zones")
        def zones(request: Any) -> Any:
            raise exc_factory()

        return api

    def floor_response(*args: Any) -> HttpResponse:
        return HttpResponse(FLOOR_BODY, status=409, content_type=JSON_MEDIA_TYPE)

    floor = NinjaAPI(urls_namespace=next(_names))
    floor.get("/zones")(floor_response)
    layered = NinjaAPI(urls_namespace=next(_names))
    layered.get("/zones")(floor_response)
    own = api_raising(Raised)
    own.add_exception_handler(Raised, floor_response)
    peer = api_raising(lambda: ConflictProblem(DETAIL, instance="/zones", code="conflict"))
    register_problem_handlers(peer)
    ours = install(api_raising(lambda: CATALOG["conflict"](DETAIL)), catalog=CATALOG)
    return {
        FLOOR: handler_for(floor),
        LAYERED: install(handler_for(layered), catalog=CATALOG),
        OWN_PATH: handler_for(own),
        PEER: handler_for(peer),
        INSTALLED: install(handler_for(ours), catalog=CATALOG),
    }


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    logging.getLogger("django.request").setLevel(logging.ERROR)  # Django's WARNING per 4xx, for every contender
    apps = contenders()
    media_types = check(apps, 409)
    times = measure(apps, 409, requests=200, repeat=3 * repeat)
    base = times[FLOOR]
    ours = times[INSTALLED] - base
    rows = error_table("Error path on Django Ninja: an operation raising a 409", times, FLOOR, INSTALLED, media_types)
    peer = (times[PEER] - base) / ours
    verdicts = [
        f"Django Ninja 409: problemdetails costs {ours * 1e6:.1f} µs above the floor, its Django layer's own "
        f"{(times[LAYERED] - base) * 1e6:.1f} µs on every response included; django-ninja-problems (no layer: no "
        f"request id, no rewritten pages) costs {peer:.2f}x that (**{'ahead' if peer > 1 else 'NOT ahead'}**); "
        f"Ninja's own exception path returning the floor's bytes costs {(times[OWN_PATH] - base) * 1e6:.1f} µs."
    ]
    return rows, verdicts
