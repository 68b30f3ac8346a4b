"""aiohttp in-process: a handler raising a catalogued 409, against aiohttp's own exception path.

aiohttp has no maintained problem-details peer, so the yardsticks are aiohttp's own:
- the floor: the handler returns the pre-encoded problem bytes itself;
- aiohttp's own exception path: the handler raises, and a middleware of the app's catches
  the exception and returns those bytes (what a hand-written integration does at the least);
- problemdetails through its convention (`middlewares=[problem_middleware(catalog=...)]`)
  and installed (`problemdetails.install(app, ...)`).

Each app answers `GET /zones` through `Application._handle` (aiohttp's own entry from its
server, minus the socket) with a `web.Request` made as its server makes one (no mocks: they
would cost more than any contender, and leave garbage for the collector);
the response it returns is checked for its status and content type before timing. Sending
the response is aiohttp's server's work and the same for every contender: not timed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.streams import EMPTY_PAYLOAD
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

import problemdetails
from problemdetails import JSON_MEDIA_TYPE, Catalog, encode_json
from problemdetails.aiohttp import problem_middleware

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
Conflict = CATALOG["conflict"]
DETAIL = "A record with this name and type already exists in the zone."
FLOOR_BODY = encode_json(Conflict(DETAIL, instance="/zones"))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FLOOR = "floor: the handler returns the pre-encoded bytes"
OWN_PATH = "aiohttp's own exception path (a middleware of the app's returning the floor's bytes)"
CONVENTION = "problemdetails (`middlewares=[problem_middleware(catalog=...)]`)"
INSTALLED = "problemdetails installed (`problemdetails.install(app, catalog=...)`)"

# A request as aiohttp's server makes it, minus the socket: its parsed message, and a protocol, transport
# and payload writer with what the request reads of them (no bytes of a response went out yet).
HEADERS = (("Host", "127.0.0.1"), ("Accept", "*/*"))
MESSAGE = RawRequestMessage(
    "GET",
    "/zones",
    HttpVersion11,
    CIMultiDictProxy(CIMultiDict(HEADERS)),
    tuple((name.encode(), value.encode()) for name, value in HEADERS),
    False,
    None,
    False,
    False,
    URL("/zones"),
)
TRANSPORT = types.SimpleNamespace(get_extra_info=lambda name, default=None: default)
WRITER = types.SimpleNamespace(output_size=0, transport=TRANSPORT)
PROTOCOL = types.SimpleNamespace(
    transport=TRANSPORT, writer=WRITER, peername=None, sockname=None, ssl_context=None, max_field_size=8190
)


def request_to(app: web.Application) -> web.Request:
    loop = asyncio.get_running_loop()
    return web.Request(MESSAGE, EMPTY_PAYLOAD, PROTOCOL, WRITER, None, loop)  # type: ignore[arg-type]


def floor_response() -> web.Response:
    return web.Response(status=409, body=FLOOR_BODY, content_type=JSON_MEDIA_TYPE)


async def floor(request: web.Request) -> web.Response:
    return floor_response()


async def raising(request: web.Request) -> web.Response:
    raise Conflict(DETAIL)


@web.middleware
async def own_path(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except problemdetails.Problem:
        return floor_response()


def app_of(handler: Handler, middlewares: list[Any]) -> web.Application:
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/zones", handler)
    return app


def contenders() -> dict[str, web.Application]:
    apps = {
        FLOOR: app_of(floor, []),
        OWN_PATH: app_of(raising, [own_path]),
        CONVENTION: app_of(raising, [problem_middleware(catalog=CATALOG)]),
        INSTALLED: problemdetails.install(app_of(raising, []), catalog=CATALOG),
    }
    for app in apps.values():
        app.freeze()
    return apps


async def drive(app: web.Application, requests: int) -> float:
    """Seconds per request: `requests` `GET /zones` through aiohttp's entry from its server."""
    handle = app._handle  # what aiohttp's server calls for each request (private)
    started = time.perf_counter()
    for _ in range(requests):
        await handle(request_to(app))
    return (time.perf_counter() - started) / requests


async def check(apps: dict[str, web.Application]) -> None:
    for name, app in apps.items():
        response = await app._handle(request_to(app))
        if (response.status, response.content_type) != (409, JSON_MEDIA_TYPE):
            raise AssertionError(f"{name}: {response.status} {response.content_type}")


async def measure(apps: dict[str, web.Application], *, requests: int, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` seconds per request for each app, the apps taking turns in each round."""
    await check(apps)
    best = dict.fromkeys(apps, float("inf"))
    for app in apps.values():
        await drive(app, 50)  # warm up
    for _ in range(repeat):
        for name, app in apps.items():
            best[name] = min(best[name], await drive(app, requests))
    return best


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    times = asyncio.run(measure(contenders(), requests=200, repeat=3 * repeat))
    base = times[FLOOR]
    own = times[OWN_PATH] - base
    rows = [
        "",
        "**Error path on aiohttp: a handler raising a catalogued 409**",
        "",
        "| contender | time per request | above the floor (error-handling cost) | cost ratio to problemdetails |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {seconds * 1e6:.1f} µs | {(seconds - base) * 1e6:.1f} µs | "
            + (f"{(seconds - base) / (times[CONVENTION] - base):.2f}x |" if seconds > base else " |")
            for name, seconds in times.items()
        ),
    ]
    verdicts = [
        f"aiohttp 409: problemdetails costs {(times[CONVENTION] - base) * 1e6:.1f} µs above the floor through its "
        f"convention and {(times[INSTALLED] - base) * 1e6:.1f} µs installed; aiohttp's own exception path returning "
        f"the floor's bytes costs {own * 1e6:.1f} µs. There is no maintained peer to be ahead of."
    ]
    for name, seconds in times.items():
        print(f"aiohttp  {name[:60]:60s} {seconds * 1e6:8.1f} µs", flush=True)
    return rows, verdicts
