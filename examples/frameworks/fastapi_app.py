"""FastAPI, wrapped in one line: `ProblemMiddleware(api, catalog=CATALOG)`."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
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
from problemdetails import ProblemMiddleware

api = FastAPI()


class Profile(BaseModel):
    color: str


class Account(BaseModel):
    name: str
    profile: Profile


class Gateway:
    """A pure ASGI middleware of the app's own (`@api.middleware("http")` would complete a failed stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/from-middleware":
            raise forbidden()
        await self.app(scope, receive, send)


api.add_middleware(Gateway)


@api.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@api.get("/conflict")
async def raise_conflict() -> None:
    raise conflict()


class Invitations:
    """FastAPI has no class-based views of its own: a class whose method is the route."""

    async def get(self) -> None:
        raise gone()


api.add_api_route("/class", Invitations().get, methods=["GET"])


@api.get("/crash")
async def crash() -> None:
    raise RuntimeError(SECRET)


@api.get("/mapped")
async def mapped() -> None:
    raise ZoneLocked("zone z1 is locked")


@api.get("/unavailable")
async def unavailable() -> None:
    raise CATALOG["unavailable"](retry_after=30)


@api.get("/http-error")
async def http_error() -> None:
    raise HTTPException(429, headers={"Retry-After": "7"})


@api.post("/validate")
async def validate(account: Account) -> dict[str, bool]:
    return {"ok": True}


@api.get("/stream")
async def stream() -> StreamingResponse:
    return StreamingResponse(async_chunks(), media_type="application/octet-stream")


app = ProblemMiddleware(api, catalog=CATALOG, exception_map=EXCEPTION_MAP)
