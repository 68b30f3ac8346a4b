"""Sanic, with its convention: `problemdetails.install(app, catalog=CATALOG)`.

Sanic's own server runs it (`sanic examples.frameworks.sanic_app:app`), and so
does any ASGI server (`uvicorn examples.frameworks.sanic_app:app`).
"""

from __future__ import annotations

from sanic import Request, Sanic, response
from sanic.exceptions import SanicException
from sanic.views import HTTPMethodView

from examples.frameworks.common import CATALOG, EXCEPTION_MAP, SECRET, ZoneLocked, conflict, forbidden, gone
from problemdetails import install

app = Sanic("frameworks_example")


@app.on_request
async def gateway(request: Request) -> None:
    """A request middleware of the app's own."""
    if request.path == "/from-middleware":
        raise forbidden()


@app.get("/ok")
async def ok(request: Request) -> response.HTTPResponse:
    return response.json({"ok": True})


@app.get("/conflict")
async def raise_conflict(request: Request) -> response.HTTPResponse:
    raise conflict()


class Invitation(HTTPMethodView):
    async def get(self, request: Request) -> response.HTTPResponse:
        raise gone()


app.add_route(Invitation.as_view(), "/class")


@app.get("/from-middleware")
async def from_middleware(request: Request) -> response.HTTPResponse:
    return response.json({"reached": True})


@app.get("/crash")
async def crash(request: Request) -> response.HTTPResponse:
    raise RuntimeError(SECRET)


@app.get("/unavailable")
async def unavailable(request: Request) -> response.HTTPResponse:
    raise CATALOG["unavailable"](retry_after=30)


@app.get("/mapped")
async def mapped(request: Request) -> response.HTTPResponse:
    raise ZoneLocked("zone z1 is locked")


@app.get("/http-error")
async def http_error(request: Request) -> response.HTTPResponse:
    raise SanicException("Slow down.", status_code=429, headers={"Retry-After": "7"})


@app.get("/stream")
async def stream(request: Request) -> None:
    streamed = await request.respond(content_type="application/octet-stream")
    await streamed.send(b"x" * 10)
    raise RuntimeError("the disk went away")


install(app, catalog=CATALOG, exception_map=EXCEPTION_MAP)
