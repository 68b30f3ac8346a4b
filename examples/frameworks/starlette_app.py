"""Starlette, wrapped in one line: `ProblemMiddleware(app, catalog=CATALOG)`; or installed inside the app object.

`installed_app` (`problemdetails.install`) and `conventional_app` (Starlette's
own `add_middleware`) carry the problem layer inside themselves, so what runs
the app object (`TestClient(app)`, `uvicorn module:app`) answers with problems too.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

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


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def raise_conflict(request: Request) -> Response:
    raise conflict()


class Invitation(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        raise gone()


async def crash(request: Request) -> Response:
    raise RuntimeError(SECRET)


async def mapped(request: Request) -> Response:
    raise ZoneLocked("zone z1 is locked")


async def unavailable(request: Request) -> Response:
    raise CATALOG["unavailable"](retry_after=30)


async def http_error(request: Request) -> Response:
    raise HTTPException(429, headers={"Retry-After": "7"})


async def stream(request: Request) -> Response:
    return StreamingResponse(async_chunks(), media_type="application/octet-stream")


class Gateway:
    """A pure ASGI middleware of the app's own (`BaseHTTPMiddleware` would complete a failed stream: see the guide)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/from-middleware":
            raise forbidden()
        await self.app(scope, receive, send)


starlette_app = Starlette(
    routes=[
        Route("/ok", ok),
        Route("/conflict", raise_conflict),
        Route("/class", Invitation),
        Route("/crash", crash),
        Route("/mapped", mapped),
        Route("/http-error", http_error),
        Route("/unavailable", unavailable),
        Route("/stream", stream),
    ],
    middleware=[Middleware(Gateway)],
)
app = ProblemMiddleware(starlette_app, catalog=CATALOG, exception_map=EXCEPTION_MAP)

# Inside the app object, added last so it is outside the app's own middleware.
installed_app = install(
    Starlette(routes=starlette_app.routes, middleware=[Middleware(Gateway)]),
    catalog=CATALOG,
    exception_map=EXCEPTION_MAP,
)
conventional_app = Starlette(routes=starlette_app.routes, middleware=[Middleware(Gateway)])
conventional_app.add_middleware(ProblemMiddleware, catalog=CATALOG, exception_map=EXCEPTION_MAP)
