"""Litestar, wrapped in one line: `ProblemMiddleware(app, catalog=CATALOG)`.

The same app with problem details inside the app object: `installed_app`
(`problemdetails.install`) and `plugin_app` (Litestar's own convention, a
plugin), which `litestar run`, uvicorn and `TestClient(app)` serve as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Litestar, get, post
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.params import Body
from litestar.response import Stream
from litestar.types import ASGIApp, Receive, Scope, Send
from msgspec import Meta

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
from problemdetails.litestar import ProblemDetailsPlugin


@dataclass
class Profile:
    color: str


@dataclass
class Account:
    name: Annotated[str, Meta(max_length=10)]
    profile: Profile


class Gateway(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"] == "/from-middleware":
            raise forbidden()
        await next_app(scope, receive, send)


@get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@get("/conflict")
async def raise_conflict() -> None:
    raise conflict()


class Invitations(Controller):
    path = "/class"

    @get()
    async def invitation(self) -> None:
        raise gone()


@get("/crash")
async def crash() -> None:
    raise RuntimeError(SECRET)


@get("/mapped")
async def mapped() -> None:
    raise ZoneLocked("zone z1 is locked")


@get("/from-middleware")
async def behind_the_gateway() -> None:
    return None


@get("/http-error")
async def http_error() -> None:
    raise HTTPException(status_code=429, headers={"Retry-After": "7"})


@post("/validate")
async def validate(data: Annotated[Account, Body()]) -> dict[str, bool]:
    return {"ok": True}


@get("/stream")
async def stream() -> Stream:
    return Stream(async_chunks(), media_type="application/octet-stream")


litestar_app = Litestar(
    [ok, raise_conflict, Invitations, crash, mapped, behind_the_gateway, http_error, validate, stream],
    middleware=[Gateway()],
)
app = ProblemMiddleware(litestar_app, catalog=CATALOG, exception_map=EXCEPTION_MAP)


# The same routes, problem details inside the app object.
ROUTES: list[Any] = [ok, raise_conflict, Invitations, crash, mapped, behind_the_gateway, http_error, validate, stream]
installed_app = install(Litestar(ROUTES, middleware=[Gateway()]), catalog=CATALOG, exception_map=EXCEPTION_MAP)
plugin_app = Litestar(
    ROUTES,
    middleware=[Gateway()],
    plugins=[ProblemDetailsPlugin(catalog=CATALOG, exception_map=EXCEPTION_MAP)],
)
