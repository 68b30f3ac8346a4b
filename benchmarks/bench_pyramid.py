"""Pyramid, in-process as the WSGI app it is: a view raising a catalogued 409, against Pyramid's own path.

Pyramid has no maintained problem-details peer, so the yardsticks are Pyramid's own:
- the floor: the view returns the pre-encoded problem bytes itself;
- Pyramid's own exception path: the view raises, and an exception view of the app's returns
  those bytes (what a hand-written integration does at the least);
- problemdetails: `config.include("problemdetails.pyramid")`.

Driven as `bench_wsgi` drives its WSGI apps (one call per request, the apps taking turns).
"""

from __future__ import annotations

import logging
from typing import Any

from benchmarks.bench_wsgi import CATALOG, DETAIL, FLOOR_BODY, ROOT, check, measure
from benchmarks.report import error_table
from problemdetails import JSON_MEDIA_TYPE, Problem

FLOOR = "floor: the view returns the pre-encoded bytes"
OWN_PATH = "Pyramid's own exception path (an exception view of the app's returning the floor's bytes)"
INCLUDED = 'problemdetails (`config.include("problemdetails.pyramid")`)'


def app_of(raising: bool, *, include: bool = False, own: bool = False) -> Any:
    from pyramid.config import Configurator
    from pyramid.response import Response

    def floor(*args: Any) -> Response:
        return Response(FLOOR_BODY, status=409, content_type=JSON_MEDIA_TYPE)

    def zones(request: Any) -> Response:
        if raising:
            raise CATALOG["conflict"](DETAIL)
        return floor()

    settings = {"problemdetails.catalog": str(ROOT / "catalog")} if include else {}
    with Configurator(settings=settings) as config:
        if include:
            config.include("problemdetails.pyramid")
        if own:
            config.add_exception_view(floor, context=Problem)
        config.add_route("zones", "/zones")
        config.add_view(zones, route_name="zones")
        return config.make_wsgi_app()


def contenders() -> dict[str, Any]:
    return {
        FLOOR: app_of(raising=False),
        OWN_PATH: app_of(raising=True, own=True),
        INCLUDED: app_of(raising=True, include=True),
    }


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    apps = contenders()
    media_types = check(apps, 409)
    times = measure(apps, 409, requests=200, repeat=3 * repeat)
    base = times[FLOOR]
    ours = times[INCLUDED] - base
    rows = error_table("Error path on Pyramid: a view raising a catalogued 409", times, FLOOR, INCLUDED, media_types)
    verdicts = [
        f"Pyramid 409: problemdetails costs {ours * 1e6:.1f} µs above the floor; Pyramid's own exception path "
        f"returning the floor's bytes costs {(times[OWN_PATH] - base) * 1e6:.1f} µs. There is no maintained peer "
        "to be ahead of."
    ]
    return rows, verdicts
