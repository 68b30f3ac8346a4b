"""Flask, wrapped in one line: `WSGIProblemMiddleware(app, catalog=CATALOG)`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask.views import MethodView
from werkzeug.exceptions import TooManyRequests

from examples.frameworks.common import (
    CATALOG,
    EXCEPTION_MAP,
    SECRET,
    ZoneLocked,
    chunks,
    conflict,
    forbidden,
    gone,
)
from problemdetails import WSGIProblemMiddleware

flask_app = Flask(__name__)


@flask_app.before_request
def gateway() -> None:
    """Flask's own middleware hook."""
    if request.path == "/from-middleware":
        raise forbidden()


@flask_app.get("/ok")
def ok() -> dict[str, Any]:
    return {"ok": True}


@flask_app.get("/conflict")
def raise_conflict() -> Response:
    raise conflict()


class Invitation(MethodView):
    def get(self) -> Response:
        raise gone()


flask_app.add_url_rule("/class", view_func=Invitation.as_view("invitation"))


@flask_app.get("/crash")
def crash() -> Response:
    raise RuntimeError(SECRET)


@flask_app.get("/mapped")
def mapped() -> Response:
    raise ZoneLocked("zone z1 is locked")


@flask_app.get("/unavailable")
def unavailable() -> Response:
    raise CATALOG["unavailable"](retry_after=30)


@flask_app.get("/http-error")
def http_error() -> Response:
    raise TooManyRequests(retry_after=7)


@flask_app.get("/stream")
def stream() -> Response:
    return Response(chunks(), mimetype="application/octet-stream")


app = WSGIProblemMiddleware(flask_app, catalog=CATALOG, exception_map=EXCEPTION_MAP)
