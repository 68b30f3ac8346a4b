"""The app the concurrency test serves: a 200, a catalogued 409, a crash, and (any other path) a 404.

Logging goes to stderr as `LEVEL name message`, so the test can count the
ERROR entries per request id.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from problemdetails import Catalog, ProblemMiddleware

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")


async def ok(request: Request) -> Response:
    await asyncio.sleep(0)  # let other requests interleave
    return JSONResponse({"ok": True})


async def conflict(request: Request) -> Response:
    await asyncio.sleep(0)
    raise CATALOG["conflict"](conflicts=[request.headers["x-request-id"]])


async def crash(request: Request) -> Response:
    await asyncio.sleep(0)
    raise RuntimeError("secret=hunter2")


app = ProblemMiddleware(
    Starlette(routes=[Route("/ok", ok), Route("/conflict", conflict), Route("/crash", crash)]), catalog=CATALOG
)
