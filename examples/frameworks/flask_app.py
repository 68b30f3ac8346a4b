"""Flask, wrapped in one line: `WSGIProblemMiddleware(app, catalog=CATALOG)`; or installed inside the app object.

`installed_app` (`problemdetails.install`) and `extended_app` (the extension,
`ProblemDetails.init_app` in an app factory) carry the layer in `app.wsgi_app`, so what
runs the app object (`flask run`, `app.test_client()`) answers with problems too.
"""

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
from problemdetails import WSGIProblemMiddleware, install
from problemdetails.flask import ProblemDetails

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


def routed(app: Flask) -> Flask:
    """`flask_app`'s routes and hook on another app, as an app factory builds it."""
    app.before_request(gateway)
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint != "static":  # HEAD and OPTIONS: added by Flask again
            methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
            app.add_url_rule(rule.rule, rule.endpoint, flask_app.view_functions[rule.endpoint], methods=methods)
    return app


installed_app = install(routed(Flask(__name__)), catalog=CATALOG, exception_map=EXCEPTION_MAP)
problem_details = ProblemDetails(catalog=CATALOG, exception_map=EXCEPTION_MAP)


def create_app() -> Flask:
    """An app factory: the extension made once, installed in each app."""
    app = routed(Flask(__name__))
    problem_details.init_app(app)
    return app


extended_app = create_app()
