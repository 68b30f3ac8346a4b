"""The apps the acceptance tests serve with real servers (uvicorn, hypercorn) on 127.0.0.1.

The same errors on three frameworks, each wrapped by ProblemMiddleware:
404, 405, 401, 429, 500, 422, and a stream that fails after its headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi import HTTPException as FastAPIHTTPException
from litestar import Litestar, get, post
from litestar.exceptions import HTTPException as LitestarHTTPException
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery
from litestar.response import Stream
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from problemdetails import Catalog, ProblemMiddleware, litestar_exception_handlers

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")


async def chunks() -> Any:
    yield b"x" * 10
    raise RuntimeError("the disk went away")


def stream_headers() -> dict[str, str]:
    return {"Content-Length": "100"}


# -- Starlette


async def s_ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def s_auth(request: Request) -> Response:
    raise HTTPException(401)


async def s_limited(request: Request) -> Response:
    raise CATALOG["rate-limited"](retry_after=7)


async def s_crash(request: Request) -> Response:
    raise RuntimeError("password=hunter2")


async def s_invalid(request: Request) -> Response:
    raise CATALOG["unprocessable"](errors=[{"detail": "required", "pointer": "#/name"}])


async def s_stream(request: Request) -> Response:
    return StreamingResponse(chunks(), headers=stream_headers(), media_type="application/octet-stream")


starlette_app = ProblemMiddleware(
    Starlette(
        routes=[
            Route("/ok", s_ok),
            Route("/auth", s_auth),
            Route("/limited", s_limited),
            Route("/crash", s_crash),
            Route("/invalid", s_invalid, methods=["POST"]),
            Route("/stream", s_stream),
        ]
    ),
    catalog=CATALOG,
)

# -- FastAPI

api = FastAPI()


class Zone(BaseModel):
    name: str


@api.get("/ok")
async def f_ok() -> dict[str, bool]:
    return {"ok": True}


@api.get("/auth")
async def f_auth() -> dict[str, bool]:
    raise FastAPIHTTPException(401)


@api.get("/limited")
async def f_limited() -> dict[str, bool]:
    raise FastAPIHTTPException(429, headers={"Retry-After": "7"})


@api.get("/crash")
async def f_crash() -> dict[str, bool]:
    raise RuntimeError("password=hunter2")


@api.post("/invalid")
async def f_invalid(zone: Zone) -> dict[str, bool]:
    return {"ok": True}


@api.get("/stream")
async def f_stream() -> Response:
    return StreamingResponse(chunks(), headers=stream_headers(), media_type="application/octet-stream")


fastapi_app = ProblemMiddleware(api, catalog=CATALOG)

# -- Litestar


@get("/ok")
async def l_ok() -> dict[str, bool]:
    return {"ok": True}


@get("/auth")
async def l_auth() -> dict[str, bool]:
    raise NotAuthorizedException()


@get("/limited")
async def l_limited() -> dict[str, bool]:
    raise LitestarHTTPException(status_code=429, headers={"Retry-After": "7"})


@get("/crash")
async def l_crash() -> dict[str, bool]:
    raise RuntimeError("password=hunter2")


@post("/invalid")
async def l_invalid(count: FromQuery[int]) -> dict[str, bool]:
    return {"ok": True}


@get("/stream")
async def l_stream() -> Stream:
    return Stream(chunks(), headers=stream_headers(), media_type="application/octet-stream")


litestar_app = ProblemMiddleware(
    Litestar([l_ok, l_auth, l_limited, l_crash, l_invalid, l_stream], exception_handlers=litestar_exception_handlers()),
    catalog=CATALOG,
)
