"""FastAPI, wrapped in one line: `ProblemMiddleware(api, catalog=CATALOG)`; or installed inside the app object.

`installed_app` (`problemdetails.install`) and `conventional_app` (FastAPI's
own `add_middleware`) carry the problem layer inside themselves, so what runs
the app object (`fastapi run`, `TestClient(app)`) answers with problems too.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
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

routes = APIRouter()


class Profile(BaseModel):
    color: str


class Account(BaseModel):
    name: str = Field(max_length=10)
    profile: Profile


class Gateway:
    """A pure ASGI middleware of the app's own (`@api.middleware("http")` would complete a failed stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/from-middleware":
            raise forbidden()
        await self.app(scope, receive, send)


@routes.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@routes.get("/conflict")
async def raise_conflict() -> None:
    raise conflict()


class Invitations:
    """FastAPI has no class-based views of its own: a class whose method is the route."""

    async def get(self) -> None:
        raise gone()


routes.add_api_route("/class", Invitations().get, methods=["GET"])


@routes.get("/crash")
async def crash() -> None:
    raise RuntimeError(SECRET)


@routes.get("/mapped")
async def mapped() -> None:
    raise ZoneLocked("zone z1 is locked")


@routes.get("/unavailable")
async def unavailable() -> None:
    raise CATALOG["unavailable"](retry_after=30)


@routes.get("/http-error")
async def http_error() -> None:
    raise HTTPException(429, headers={"Retry-After": "7"})


@routes.post("/validate")
async def validate(account: Account) -> dict[str, bool]:
    return {"ok": True}


@routes.get("/stream")
async def stream() -> StreamingResponse:
    return StreamingResponse(async_chunks(), media_type="application/octet-stream")


def build() -> FastAPI:
    """The app, as FastAPI's docs build one: its routes, and a middleware of its own."""
    api = FastAPI()
    api.include_router(routes)
    api.add_middleware(Gateway)
    return api


api = build()
app = ProblemMiddleware(api, catalog=CATALOG, exception_map=EXCEPTION_MAP)

# Inside the app object, added last so it is outside the app's own middleware.
installed_app = install(build(), catalog=CATALOG, exception_map=EXCEPTION_MAP)
conventional_app = build()
conventional_app.add_middleware(ProblemMiddleware, catalog=CATALOG, exception_map=EXCEPTION_MAP)
