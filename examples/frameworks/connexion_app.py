"""Connexion 3, from its OpenAPI document (`connexion/openapi.yaml`), with `problemdetails.install(app, ...)`.

`app` is Connexion's `AsyncApp`; `flask_app` the same API as its `FlaskApp`. Both are ASGI:
`uvicorn examples.frameworks.connexion_app:app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import flask
from connexion import AsyncApp, FlaskApp
from connexion.exceptions import ProblemException
from starlette.responses import StreamingResponse

from examples.frameworks.common import (
    CATALOG,
    EXCEPTION_MAP,
    SECRET,
    ZoneLocked,
    async_chunks,
    chunks,
    conflict,
    forbidden,
    gone,
)
from problemdetails import install

SPEC = Path(__file__).resolve().parent / "connexion"


class Gateway:
    """An ASGI middleware of the app's own, in Connexion's stack."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/from-middleware":
            raise forbidden()
        await self.app(scope, receive, send)


def ok() -> dict[str, bool]:
    return {"ok": True}


def reached() -> dict[str, bool]:
    return {"reached": True}  # the gateway refuses it first


def raise_conflict() -> None:
    raise conflict()


class Invitation:
    @staticmethod
    def get() -> None:
        raise gone()


def crash() -> None:
    raise RuntimeError(SECRET)


def unavailable() -> None:
    raise CATALOG["unavailable"](retry_after=30)


def mapped() -> None:
    raise ZoneLocked("zone z1 is locked")


def http_error() -> None:
    raise ProblemException(status=429, title="Too Many Requests", detail="Slow down.", headers={"Retry-After": "7"})


def stream() -> Any:
    if flask.has_request_context():  # the FlaskApp runs its views in Flask
        return flask.Response(chunks(), mimetype="application/octet-stream")
    streamed: AsyncIterator[bytes] = async_chunks()
    return StreamingResponse(streamed, media_type="application/octet-stream")


def validate(body: dict[str, Any], dry_run: bool = False) -> dict[str, bool]:
    return {"ok": True}


def built(kind: type[AsyncApp] | type[FlaskApp]) -> Any:
    from connexion.middleware import MiddlewarePosition

    made = kind(__name__, specification_dir=SPEC)
    made.add_api("openapi.yaml")
    made.add_middleware(Gateway, position=MiddlewarePosition.BEFORE_ROUTING)
    return install(made, catalog=CATALOG, exception_map=EXCEPTION_MAP)


app = built(AsyncApp)
flask_app = built(FlaskApp)
