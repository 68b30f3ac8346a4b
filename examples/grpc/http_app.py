"""The Zones service over HTTP: a Starlette app answering problems from the shared catalog.

uvicorn examples.grpc.http_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from examples.grpc.zones import CATALOG, Zones
from problemdetails import ProblemMiddleware

zones = Zones()


async def create_zone(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse(zones.create(body.get("name") if isinstance(body, dict) else None), status_code=201)


async def get_zone(request: Request) -> JSONResponse:
    return JSONResponse(zones.get(request.path_params["name"]))


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


routes = [
    Route("/v1/zones", create_zone, methods=["POST"]),
    Route("/v1/zones/{name}", get_zone),
    Route("/ok", ok),
]
app = ProblemMiddleware(Starlette(routes=routes), catalog=CATALOG)
