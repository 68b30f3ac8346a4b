"""Run in a child process (Sentry patches frameworks for good): one app, requests, the events each produced.

`python -m tests.sentry.run <framework> [event_level]` prints JSON: for each request path,
the list of Sentry events it produced, each as `[exception types..., message]`,
and each event's `request_id` and `problem.code` tags. Each request sends
`X-Request-ID: id-<path>`.
Sentry is initialised with its default integrations and a transport that keeps
envelopes in memory (no network); given an `event_level` (`ERROR`, or `none`), with
`LoggingIntegration(event_level=...)` besides: ERROR records are events by default in
sentry-sdk 2, not in 3 (where that integration is not even a default one).

Besides the example app's routes, each app gets the 5xx answers (`ADD_ROUTES`):

| path | what it does |
|---|---|
| `/http-unavailable` | the framework's own HTTP error, a 503 (Django: DRF's `APIException`, Django has none) |
| `/rendered-unavailable` | returns a text 503 page of its own, which the middleware rewrites |
| `/mapped-unavailable` | raises `Maintenance`, mapped to `unavailable` |
| `/mapped-status` | raises `Overloaded`, mapped to `unavailable`, with a `status_code = 503` as Starlette reads it |
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import sentry_sdk
import yaml
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

EVENTS: list[dict[str, Any]] = []
PATHS = [
    "/ok",
    "/conflict",
    "/mapped",
    "/crash",
    "/unavailable",
    "/http-unavailable",
    "/rendered-unavailable",
    "/mapped-unavailable",
    "/mapped-status",
]
DOWN = "down for maintenance"


class Maintenance(Exception):
    """An exception of the app's own, mapped to a 5xx slug."""


class Overloaded(Exception):
    """Mapped to a 5xx slug too, and carrying its status as an attribute."""

    status_code = 503


class Memory(Transport):
    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event" and item.payload.json is not None:
                EVENTS.append(item.payload.json)


def summary(event: dict[str, Any]) -> list[str]:
    types = [value["type"] for value in event.get("exception", {}).get("values", [])]
    message = event.get("logentry", {}).get("message") or event.get("message") or ""
    return [*types, message]


def tags(event: dict[str, Any]) -> dict[str, str]:
    found = event.get("tags", {})
    pairs = found.items() if isinstance(found, dict) else found  # Sentry may send tags as pairs
    return {key: value for key, value in pairs if key in ("request_id", "problem.code")}


def request_id(path: str) -> dict[str, str]:
    return {"X-Request-ID": f"id-{path.strip('/')}"}


def starlette_routes() -> None:
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response

    from examples.frameworks.starlette_app import starlette_app

    async def http_unavailable(request: Request) -> Response:
        raise HTTPException(503)

    async def rendered_unavailable(request: Request) -> Response:
        return PlainTextResponse(DOWN, status_code=503)

    async def mapped_unavailable(request: Request) -> Response:
        raise Maintenance(DOWN)

    async def mapped_status(request: Request) -> Response:
        raise Overloaded(DOWN)

    starlette_app.add_route("/http-unavailable", http_unavailable)
    starlette_app.add_route("/rendered-unavailable", rendered_unavailable)
    starlette_app.add_route("/mapped-unavailable", mapped_unavailable)
    starlette_app.add_route("/mapped-status", mapped_status)


def fastapi_routes() -> None:
    from fastapi import HTTPException
    from fastapi.responses import PlainTextResponse

    from examples.frameworks.fastapi_app import api

    @api.get("/http-unavailable")
    async def http_unavailable() -> None:
        raise HTTPException(503)

    @api.get("/rendered-unavailable")
    async def rendered_unavailable() -> PlainTextResponse:
        return PlainTextResponse(DOWN, status_code=503)

    @api.get("/mapped-unavailable")
    async def mapped_unavailable() -> None:
        raise Maintenance(DOWN)

    @api.get("/mapped-status")
    async def mapped_status() -> None:
        raise Overloaded(DOWN)


def django_routes() -> None:
    from examples.frameworks import django_app  # first: it configures Django, as DRF's views need

    # isort: split
    from django.http import HttpRequest, HttpResponse
    from django.urls import path
    from rest_framework.exceptions import APIException
    from rest_framework.views import APIView

    class ServiceUnavailable(APIException):  # type: ignore[misc]  # DRF is untyped
        status_code = 503

    class HTTPUnavailable(APIView):  # type: ignore[misc]
        def get(self, request: object) -> HttpResponse:
            raise ServiceUnavailable(DOWN)

    def rendered_unavailable(request: HttpRequest) -> HttpResponse:
        return HttpResponse(DOWN, status=503, content_type="text/plain")

    def mapped_unavailable(request: HttpRequest) -> HttpResponse:
        raise Maintenance(DOWN)

    def mapped_status(request: HttpRequest) -> HttpResponse:
        raise Overloaded(DOWN)

    django_app.urlpatterns += [
        path("http-unavailable", HTTPUnavailable.as_view()),
        path("rendered-unavailable", rendered_unavailable),
        path("mapped-unavailable", mapped_unavailable),
        path("mapped-status", mapped_status),
    ]


def flask_routes() -> None:
    from flask import abort

    from examples.frameworks.flask_app import flask_app

    @flask_app.get("/http-unavailable")
    def http_unavailable() -> str:
        abort(503)

    @flask_app.get("/rendered-unavailable")
    def rendered_unavailable() -> tuple[str, int, dict[str, str]]:
        return DOWN, 503, {"Content-Type": "text/plain"}

    @flask_app.get("/mapped-unavailable")
    def mapped_unavailable() -> str:
        raise Maintenance(DOWN)

    @flask_app.get("/mapped-status")
    def mapped_status() -> str:
        raise Overloaded(DOWN)


def aiohttp_routes() -> None:
    from aiohttp import web

    from examples.frameworks.aiohttp_app import routes

    @routes.get("/http-unavailable")
    async def http_unavailable(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable()

    @routes.get("/rendered-unavailable")
    async def rendered_unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text=DOWN)

    @routes.get("/mapped-unavailable")
    async def mapped_unavailable(request: web.Request) -> web.Response:
        raise Maintenance(DOWN)

    @routes.get("/mapped-status")
    async def mapped_status(request: web.Request) -> web.Response:
        raise Overloaded(DOWN)


def tornado_routes() -> None:
    from tornado import web

    from examples.frameworks import tornado_app

    class HTTPUnavailable(web.RequestHandler):
        def get(self) -> None:
            raise web.HTTPError(503)

    class RenderedUnavailable(web.RequestHandler):
        def get(self) -> None:
            self.set_status(503)
            self.finish(DOWN)

    class MappedUnavailable(web.RequestHandler):
        def get(self) -> None:
            raise Maintenance(DOWN)

    class MappedStatus(web.RequestHandler):
        def get(self) -> None:
            raise Overloaded(DOWN)

    make_app = tornado_app.make_app

    def with_routes() -> web.Application:
        application = make_app()
        application.add_handlers(
            ".*",
            [
                (r"/http-unavailable", HTTPUnavailable),
                (r"/rendered-unavailable", RenderedUnavailable),
                (r"/mapped-unavailable", MappedUnavailable),
                (r"/mapped-status", MappedStatus),
            ],
        )
        return application

    tornado_app.make_app = with_routes


def sanic_routes() -> None:
    from sanic import Request, response
    from sanic.exceptions import ServiceUnavailable

    from examples.frameworks.sanic_app import app

    @app.get("/http-unavailable")
    async def http_unavailable(request: Request) -> response.HTTPResponse:
        raise ServiceUnavailable()

    @app.get("/rendered-unavailable")
    async def rendered_unavailable(request: Request) -> response.HTTPResponse:
        return response.text(DOWN, status=503)

    @app.get("/mapped-unavailable")
    async def mapped_unavailable(request: Request) -> response.HTTPResponse:
        raise Maintenance(DOWN)

    @app.get("/mapped-status")
    async def mapped_status(request: Request) -> response.HTTPResponse:
        raise Overloaded(DOWN)


def ninja_routes() -> None:
    """A Ninja API of its own at `/ninja-sentry/` in the example project: the example's routes, and the 5xx ones."""
    from examples.frameworks import django_app  # first: it configures Django, as Ninja needs

    # isort: split
    from django.http import HttpRequest, HttpResponse
    from django.urls import path
    from ninja import NinjaAPI
    from ninja.errors import HttpError

    from examples.frameworks.common import CATALOG, EXCEPTION_MAP, SECRET, ZoneLocked, conflict
    from problemdetails import install

    api = NinjaAPI(urls_namespace="ninja-sentry")
    api.get("/ok")(lambda request: {"ok": True})

    @api.get("/conflict")
    def raise_conflict(request: HttpRequest) -> None:
        raise conflict()

    @api.get("/mapped")
    def mapped(request: HttpRequest) -> None:
        raise ZoneLocked("zone z1 is locked")

    @api.get("/crash")
    def crash(request: HttpRequest) -> None:
        raise RuntimeError(SECRET)

    @api.get("/unavailable")
    def unavailable(request: HttpRequest) -> None:
        raise CATALOG["unavailable"](retry_after=30)

    @api.get("/http-unavailable")
    def http_unavailable(request: HttpRequest) -> None:
        raise HttpError(503, "down")

    @api.get("/rendered-unavailable")
    def rendered_unavailable(request: HttpRequest) -> HttpResponse:
        return HttpResponse(DOWN, status=503, content_type="text/plain")

    @api.get("/mapped-unavailable")
    def mapped_unavailable(request: HttpRequest) -> None:
        raise Maintenance(DOWN)

    @api.get("/mapped-status")
    def mapped_status(request: HttpRequest) -> None:
        raise Overloaded(DOWN)

    install(api, catalog=CATALOG, exception_map=EXCEPTION_MAP)
    django_app.urlpatterns.append(path("ninja-sentry/", api.urls))


def pyramid_routes() -> None:
    """Pyramid's routes are configured with its app (`pyramid_app`, below)."""


def pyramid_app() -> Any:
    from pyramid.config import Configurator
    from pyramid.httpexceptions import HTTPServiceUnavailable
    from pyramid.response import Response

    from examples.frameworks import pyramid_app as example

    def http_unavailable(request: Any) -> Any:
        raise HTTPServiceUnavailable()

    def rendered_unavailable(request: Any) -> Any:
        return Response(DOWN, status=503, content_type="text/plain")

    def mapped_unavailable(request: Any) -> Any:
        raise Maintenance(DOWN)

    def mapped_status(request: Any) -> Any:
        raise Overloaded(DOWN)

    views = {
        "/ok": example.ok,
        "/conflict": example.raise_conflict,
        "/mapped": example.mapped,
        "/crash": example.crash,
        "/unavailable": example.unavailable,
        "/http-unavailable": http_unavailable,
        "/rendered-unavailable": rendered_unavailable,
        "/mapped-unavailable": mapped_unavailable,
        "/mapped-status": mapped_status,
    }
    settings = {
        "problemdetails.catalog": str(example.ROOT / "catalog"),
        "problemdetails.exception_map": "examples.frameworks.common.EXCEPTION_MAP",
    }
    with Configurator(settings=settings) as config:
        config.include("problemdetails.pyramid")
        for path, view in views.items():
            config.add_route(path, path)
            config.add_view(view, route_name=path, renderer="json" if path == "/ok" else None)
        return config.make_wsgi_app()


def connexion_routes() -> None:
    """Connexion's routes come from its OpenAPI document: the 5xx ones are operations of `connexion_app`."""
    from connexion.exceptions import ProblemException

    from examples.frameworks import connexion_app

    def http_unavailable() -> None:
        raise ProblemException(status=503, title="Service Unavailable")

    def rendered_unavailable() -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(DOWN, status_code=503)

    def mapped_unavailable() -> None:
        raise Maintenance(DOWN)

    def mapped_status() -> None:
        raise Overloaded(DOWN)

    for function in (http_unavailable, rendered_unavailable, mapped_unavailable, mapped_status):
        setattr(connexion_app, function.__name__, function)


# The 5xx answers' routes (see the module docstring), added to the example app before it serves.
ADD_ROUTES = {
    "starlette": starlette_routes,
    "fastapi": fastapi_routes,
    "django": django_routes,
    "flask": flask_routes,
    "aiohttp": aiohttp_routes,
    "tornado": tornado_routes,
    "sanic": sanic_routes,
    "ninja": ninja_routes,
    "pyramid": pyramid_routes,
    "connexion": connexion_routes,
}


def main(framework: str, event_level: str | None = None) -> None:
    logging.basicConfig(level=logging.INFO)  # a service logs: Sentry's logging integration sees the records
    if event_level is None:
        sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Memory)
    else:
        from sentry_sdk.integrations.logging import LoggingIntegration

        level = None if event_level == "none" else getattr(logging, event_level)
        integrations = [LoggingIntegration(event_level=level)]
        sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Memory, integrations=integrations)
    from examples.frameworks.common import EXCEPTION_MAP

    # Before an app module wraps its app: the middleware takes its map (and the hooks their classes) then.
    EXCEPTION_MAP.update({Maintenance: "unavailable", Overloaded: "unavailable"})
    ADD_ROUTES[framework]()
    if framework in ("starlette", "fastapi"):
        from starlette.testclient import TestClient

        from examples.frameworks import fastapi_app, starlette_app

        module = starlette_app if framework == "starlette" else fastapi_app
        client = TestClient(module.app, raise_server_exceptions=False)

        def get(path: str) -> int:
            return client.get(path, headers=request_id(path)).status_code
    elif framework == "django":
        from examples.frameworks import django_app
        from tests.asgi import call

        def get(path: str) -> int:
            return call(django_app.asgi_app, path=path, headers=request_id(path)).status
    elif framework == "aiohttp":  # aiohttp's own test client (its test server on 127.0.0.1), on one event loop
        import asyncio

        from aiohttp import test_utils

        from examples.frameworks.aiohttp_app import installed_app

        runner = asyncio.Runner()

        async def start() -> Any:
            client: Any = test_utils.TestClient(test_utils.TestServer(installed_app()))
            await client.start_server()
            return client

        aiohttp_client = runner.run(start())

        async def fetch(path: str) -> int:
            response = await aiohttp_client.get(path, headers=request_id(path))
            await response.read()
            status: int = response.status
            return status

        def get(path: str) -> int:
            return runner.run(fetch(path))
    elif framework == "tornado":  # Tornado's own test case (its server on 127.0.0.1 and its client)
        from examples.frameworks.tornado_app import make_app
        from tests.test_tornado import Client

        tornado_client = Client(make_app())

        def get(path: str) -> int:
            return tornado_client.request("GET", path, request_id(path)).status_code
    elif framework == "connexion":  # Connexion's own test client, on an AsyncApp with the 5xx operations too
        from connexion import AsyncApp

        from examples.frameworks.common import CATALOG, EXCEPTION_MAP
        from examples.frameworks.connexion_app import SPEC
        from problemdetails import install

        spec = yaml.safe_load((SPEC / "openapi.yaml").read_text())
        for path in PATHS:
            if path not in spec["paths"]:
                operation = "examples.frameworks.connexion_app." + path.strip("/").replace("-", "_")
                spec["paths"][path] = {"get": {"operationId": operation, "responses": {"503": {"description": "down"}}}}
        connexion_app = AsyncApp(__name__)
        connexion_app.add_api(spec)
        connexion_client = install(connexion_app, catalog=CATALOG, exception_map=EXCEPTION_MAP).test_client()

        def get(path: str) -> int:
            status: int = connexion_client.get(path, headers=request_id(path)).status_code
            return status

    elif framework == "pyramid":  # a WSGI app: driven as the Flask one is
        from tests.wsgi import serve

        app = pyramid_app()

        def get(path: str) -> int:
            return serve(app, path=path, headers=request_id(path)).code

    elif framework == "ninja":  # in the Django project, through its ASGI handler wrapped
        from examples.frameworks import django_app
        from tests.asgi import call

        def get(path: str) -> int:
            return call(django_app.asgi_app, path="/ninja-sentry" + path, headers=request_id(path)).status

    elif framework == "sanic":  # Sanic's ASGI test client
        import asyncio

        from examples.frameworks.sanic_app import app as sanic_app

        def get(path: str) -> int:
            _, answered = asyncio.run(sanic_app.asgi_client.get(path, headers=request_id(path)))
            status: int = answered.status
            return status
    else:
        assert framework == "flask"
        from examples.frameworks import flask_app
        from tests.wsgi import serve

        def get(path: str) -> int:
            return serve(flask_app.app, path=path, headers=request_id(path)).code

    seen: dict[str, Any] = {}
    for path in PATHS:
        EVENTS.clear()
        status = get(path)
        sentry_sdk.flush()
        seen[path] = {
            "status": status,
            "events": [summary(event) for event in EVENTS],
            "tags": [tags(event) for event in EVENTS],
        }
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:3])
