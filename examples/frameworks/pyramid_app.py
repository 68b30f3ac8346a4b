"""Pyramid, with its convention: `config.include("problemdetails.pyramid")` and the `problemdetails.*` settings.

Any WSGI server runs it: `waitress-serve examples.frameworks.pyramid_app:app` (what `pserve` does
with an ini file), or gunicorn.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPTooManyRequests
from pyramid.request import Request
from pyramid.response import Response

from examples.frameworks.common import CATALOG, SECRET, ZoneLocked, chunks, conflict, forbidden, gone

ROOT = Path(__file__).resolve().parents[2]


def gateway_tween(handler: Any, registry: Any) -> Any:
    """A tween of the app's own: what another framework's middleware is."""

    def gateway(request: Request) -> Response:
        if request.path == "/from-middleware":
            raise forbidden()
        response: Response = handler(request)
        return response

    return gateway


def ok(request: Request) -> dict[str, bool]:
    return {"ok": True}


def raise_conflict(request: Request) -> Response:
    raise conflict()


class Invitation:
    """A class-based view."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __call__(self) -> Response:
        raise gone()


def crash(request: Request) -> Response:
    raise RuntimeError(SECRET)


def unavailable(request: Request) -> Response:
    raise CATALOG["unavailable"](retry_after=30)


def mapped(request: Request) -> Response:
    raise ZoneLocked("zone z1 is locked")


def http_error(request: Request) -> Response:
    raise HTTPTooManyRequests(headers={"Retry-After": "7"})


def stream(request: Request) -> Response:
    return Response(app_iter=chunks(), content_type="application/octet-stream")


@functools.cache
def make_app() -> Any:
    settings = {
        "problemdetails.catalog": str(ROOT / "catalog"),
        "problemdetails.exception_map": "examples.frameworks.common.EXCEPTION_MAP",
    }
    with Configurator(settings=settings) as config:
        config.include("problemdetails.pyramid")
        config.add_tween("examples.frameworks.pyramid_app.gateway_tween")
        for name, path, view, renderer in [
            ("ok", "/ok", ok, "json"),
            ("conflict", "/conflict", raise_conflict, None),
            ("class", "/class", Invitation, None),
            ("from-middleware", "/from-middleware", ok, "json"),
            ("crash", "/crash", crash, None),
            ("unavailable", "/unavailable", unavailable, None),
            ("mapped", "/mapped", mapped, None),
            ("http-error", "/http-error", http_error, None),
            ("stream", "/stream", stream, None),
        ]:
            config.add_route(name, path)
            config.add_view(view, route_name=name, renderer=renderer, request_method="GET")
        return config.make_wsgi_app()


def __getattr__(name: str) -> Any:
    """`app`, made once this module is imported whole: Pyramid finds the tween by its dotted name in it."""
    if name == "app":
        return make_app()
    raise AttributeError(name)
