"""Quart, wrapped in one line: `ProblemMiddleware(app, catalog=CATALOG)`; or installed inside the app object.

`installed_app` (`problemdetails.install`) and `extended_app` (the extension,
`ProblemDetails.init_app` in an app factory) carry the layer in `app.asgi_app`, so what
runs the app object (`quart run`, `app.test_client()`) answers with problems too.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, request
from quart.views import MethodView
from werkzeug.exceptions import TooManyRequests

from examples.frameworks.common import (
    CATALOG,
    EXCEPTION_MAP,
    SECRET,
    ZoneLocked,
    async_chunks,
    conflict,
    forbidden,
    gone,
)
from problemdetails import ProblemMiddleware, install
from problemdetails.flask import ProblemDetails

quart_app = Quart(__name__)


@quart_app.before_request
async def gateway() -> None:
    """Quart's own middleware hook."""
    if request.path == "/from-middleware":
        raise forbidden()


@quart_app.get("/ok")
async def ok() -> dict[str, Any]:
    return {"ok": True}


@quart_app.get("/conflict")
async def raise_conflict() -> Response:
    raise conflict()


class Invitation(MethodView):
    async def get(self) -> Response:
        raise gone()


quart_app.add_url_rule("/class", view_func=Invitation.as_view("invitation"))


@quart_app.get("/crash")
async def crash() -> Response:
    raise RuntimeError(SECRET)


@quart_app.get("/mapped")
async def mapped() -> Response:
    raise ZoneLocked("zone z1 is locked")


@quart_app.get("/http-error")
async def http_error() -> Response:
    raise TooManyRequests(retry_after=7)


@quart_app.get("/stream")
async def stream() -> Response:
    return Response(async_chunks(), mimetype="application/octet-stream")


app = ProblemMiddleware(quart_app, catalog=CATALOG, exception_map=EXCEPTION_MAP)


def routed(app: Quart) -> Quart:
    """`quart_app`'s routes and hook on another app, as an app factory builds it."""
    app.before_request(gateway)
    for rule in quart_app.url_map.iter_rules():
        if rule.endpoint != "static":  # HEAD and OPTIONS: added by Quart again
            methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            app.add_url_rule(rule.rule, rule.endpoint, quart_app.view_functions[rule.endpoint], methods=methods)
    return app


installed_app = install(routed(Quart(__name__)), catalog=CATALOG, exception_map=EXCEPTION_MAP)
problem_details = ProblemDetails(catalog=CATALOG, exception_map=EXCEPTION_MAP)


def create_app() -> Quart:
    """An app factory: the extension made once, installed in each app."""
    app = routed(Quart(__name__))
    problem_details.init_app(app)
    return app


extended_app = create_app()
