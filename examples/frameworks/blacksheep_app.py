"""BlackSheep, wrapped in one line: `ProblemMiddleware(app, catalog=CATALOG)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from blacksheep import Application, Request, Response, StreamedContent, json
from blacksheep.exceptions import HTTPException
from blacksheep.server.controllers import Controller, get

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

blacksheep_app = Application()


async def gateway(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    """A BlackSheep middleware."""
    if request.path == "/from-middleware":
        raise forbidden()
    return await handler(request)


blacksheep_app.middlewares.append(gateway)


@blacksheep_app.router.get("/ok")
async def ok() -> Response:
    return json({"ok": True})


@blacksheep_app.router.get("/conflict")
async def raise_conflict() -> Response:
    raise conflict()


class Invitations(Controller):
    @get("/class")
    async def invitation(self) -> Response:
        raise gone()


@blacksheep_app.router.get("/crash")
async def crash() -> Response:
    raise RuntimeError(SECRET)


@blacksheep_app.router.get("/mapped")
async def mapped() -> Response:
    raise ZoneLocked("zone z1 is locked")


@blacksheep_app.router.get("/http-error")
async def http_error() -> Response:
    raise HTTPException(429, "Slow down.")  # BlackSheep's HTTP errors carry no headers


@blacksheep_app.router.get("/stream")
async def stream() -> Response:
    return Response(200, content=StreamedContent(b"application/octet-stream", async_chunks))


app = ProblemMiddleware(blacksheep_app, catalog=CATALOG, exception_map=EXCEPTION_MAP)
