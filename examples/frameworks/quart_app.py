"""Quart, wrapped in one line: `ProblemMiddleware(app, catalog=CATALOG)`."""

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
from problemdetails import ProblemMiddleware

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
