"""The app the wire tests attack under real servers: hostile text, huge numbers, conflicting headers.

`HOSTILE_SITE` names a built doc site folder, served under /errors/ (the
test plants dotfiles and a symlink in it first).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from problemdetails import Catalog, ProblemMiddleware

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")
HUGE = "9" * 5000


async def echo(request: Request) -> Response:
    # A lone surrogate arrives as the JSON escape "\ud800".
    raise CATALOG["conflict"]((await request.json())["name"])


async def retry(request: Request) -> Response:
    source = request.path_params["source"]
    if source == "problem":
        raise CATALOG["rate-limited"](headers={"Retry-After": HUGE})
    if source == "exception":
        raise HTTPException(429, headers={"Retry-After": HUGE})
    return PlainTextResponse("busy", status_code=503, headers={"Retry-After": HUGE})


async def framing(request: Request) -> Response:
    headers = {
        "Content-Length": "5",
        "Transfer-Encoding": "chunked",
        "Content-Type": "text/html",
        "X-Request-ID": "forged",
        "X-Injected": "a\r\nSet-Cookie: session=evil",
    }
    if request.path_params["source"] == "problem":
        raise CATALOG["conflict"]("taken", headers=headers)
    raise HTTPException(409, headers=headers)


app = ProblemMiddleware(
    Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/retry/{source}", retry),
            Route("/framing/{source}", framing),
        ]
    ),
    catalog=CATALOG,
    docs_path="/errors/",
    docs_dir=os.environ["HOSTILE_SITE"],
)
