"""aiohttp, with its convention: `web.Application(middlewares=[problem_middleware(catalog=CATALOG)])`.

And the same app with problem details installed, `installed_app`:
`problemdetails.install(app, catalog=CATALOG)`. aiohttp's own server runs either
(`python -m aiohttp.web examples.frameworks.aiohttp_app:make_app`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from examples.frameworks.common import CATALOG, EXCEPTION_MAP, SECRET, ZoneLocked, conflict, forbidden, gone
from problemdetails import install
from problemdetails.aiohttp import problem_middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An aiohttp middleware of the app's own."""
    if request.path == "/from-middleware":
        raise forbidden()
    return await handler(request)


routes = web.RouteTableDef()


@routes.get("/ok")
async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@routes.get("/conflict")
async def raise_conflict(request: web.Request) -> web.Response:
    raise conflict()


@routes.view("/class")
class Invitation(web.View):
    async def get(self) -> web.Response:
        raise gone()


@routes.get("/crash")
async def crash(request: web.Request) -> web.Response:
    raise RuntimeError(SECRET)


@routes.get("/unavailable")
async def unavailable(request: web.Request) -> web.Response:
    raise CATALOG["unavailable"](retry_after=30)


@routes.get("/mapped")
async def mapped(request: web.Request) -> web.Response:
    raise ZoneLocked("zone z1 is locked")


@routes.get("/http-error")
async def http_error(request: web.Request) -> web.Response:
    raise web.HTTPTooManyRequests(text="Slow down.", headers={"Retry-After": "7"})


@routes.get("/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    await response.prepare(request)
    await response.write(b"x" * 10)
    raise RuntimeError("the disk went away")


def conventional_app() -> web.Application:
    """The convention: the middleware first in the app's list."""
    app = web.Application(middlewares=[problem_middleware(catalog=CATALOG, exception_map=EXCEPTION_MAP), gateway])
    app.add_routes(routes)
    return app


def installed_app() -> web.Application:
    """`problemdetails.install`: the same middleware, and `X-Request-ID` on a response a handler prepares."""
    app = web.Application(middlewares=[gateway])
    app.add_routes(routes)
    return install(app, catalog=CATALOG, exception_map=EXCEPTION_MAP)


def make_app(argv: list[str]) -> web.Application:
    """For aiohttp's own server: `python -m aiohttp.web examples.frameworks.aiohttp_app:make_app [--installed]`."""
    return installed_app() if "--installed" in argv else conventional_app()
