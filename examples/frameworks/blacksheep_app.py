"""BlackSheep, wrapped in one line: `ProblemMiddleware(app, catalog=CATALOG)`.

And the same app with problem details inside it, `installed_app`:
`problemdetails.install(app, catalog=CATALOG)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from blacksheep import Application, Request, Response, Router, StreamedContent, json
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
from problemdetails import ProblemMiddleware, install

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

# The same routes with problem details installed inside the app object: what
# `blacksheep.testing.TestClient(app)` and any ASGI server run as it is.
installed_blacksheep = Application(router=Router())
installed_blacksheep.middlewares.append(gateway)
for _path, _handler in {
    "/ok": ok,
    "/conflict": raise_conflict,
    "/crash": crash,
    "/mapped": mapped,
    "/http-error": http_error,
    "/stream": stream,
}.items():
    installed_blacksheep.router.add_get(_path, _handler)


@installed_blacksheep.router.get("/class")
async def installed_invitation() -> Response:
    raise gone()


installed_app = install(installed_blacksheep, catalog=CATALOG, exception_map=EXCEPTION_MAP)
