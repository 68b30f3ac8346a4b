"""Sanic in-process, as the ASGI app it also is: a handler raising a catalogued 409, against Sanic's own path.

Sanic has no maintained problem-details peer, so the yardsticks are Sanic's own:
- the floor: the handler returns the pre-encoded problem bytes itself;
- Sanic's own exception path: the handler raises, and an exception handler of the app's
  (`@app.exception(Problem)`) returns those bytes (what a hand-written integration does at the least);
- the same, with the hooks a layer needs doing nothing: a request and a response middleware and
  an `http.lifecycle.exception` signal;
- problemdetails installed (`problemdetails.install(app, catalog=...)`).

Each app is started as an ASGI server starts it (the lifespan protocol) and driven one ASGI
call per request (`benchmarks/harness.py`); each run has its own event loop (Sanic binds its
signals to one), the apps taking turns.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path
from typing import Any

from sanic import Request, Sanic, response
from sanic.response import BaseHTTPResponse

import problemdetails
from benchmarks.harness import drive
from benchmarks.report import error_table
from problemdetails import JSON_MEDIA_TYPE, Catalog, Problem, encode_json

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
Conflict = CATALOG["conflict"]
DETAIL = "A record with this name and type already exists in the zone."
FLOOR_BODY = encode_json(Conflict(DETAIL, instance="/zones"))

FLOOR = "floor: the handler returns the pre-encoded bytes"
OWN_PATH = "Sanic's own exception path (`@app.exception(Problem)` returning the floor's bytes)"
HOOKED = "Sanic's own path, with a request and a response middleware and an exception signal doing nothing"
INSTALLED = "problemdetails installed (`problemdetails.install(app, catalog=...)`)"

_names = (f"bench_sanic_{n}" for n in itertools.count())


def floor_response() -> response.HTTPResponse:
    return response.raw(FLOOR_BODY, status=409, content_type=JSON_MEDIA_TYPE)


def app_of(raising: bool) -> Sanic[Any, Any]:
    Sanic.test_mode = True  # several apps in one process
    app = Sanic(next(_names))
    app.config.ACCESS_LOG = False

    @app.get("/zones")
    async def zones(request: Request) -> response.HTTPResponse:
        if raising:
            raise Conflict(DETAIL)
        return floor_response()

    return app


def contenders() -> dict[str, Sanic[Any, Any]]:
    own = app_of(raising=True)

    @own.exception(Problem)
    async def answer(request: Request, exception: Exception) -> response.HTTPResponse:
        return floor_response()

    hooked = app_of(raising=True)
    hooked.exception(Problem)(answer)

    @hooked.on_request
    async def entered(request: Request) -> None:
        pass

    async def left(request: Request, response: BaseHTTPResponse) -> None:
        pass

    hooked.register_middleware(left, "response")

    @hooked.signal("http.lifecycle.exception")
    async def failed(request: Request, exception: Exception) -> None:
        pass

    return {
        FLOOR: app_of(raising=False),
        OWN_PATH: own,
        HOOKED: hooked,
        INSTALLED: problemdetails.install(app_of(raising=True), catalog=CATALOG),
    }


async def started(app: Sanic[Any, Any]) -> asyncio.Task[None]:
    """The app started as an ASGI server starts it: the lifespan protocol's startup, in this event loop.

    Its lifespan call goes on (until the loop ends), as under a server; its task is returned.
    """
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    events = iter([{"type": "lifespan.startup"}])

    async def receive() -> dict[str, Any]:
        for event in events:
            return dict(event)
        await asyncio.Event().wait()  # no shutdown: the loop ends with the run
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if not ready.done():
            ready.set_result(message["type"])

    running = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    if await ready != "lifespan.startup.complete":
        raise AssertionError(f"{app.name} did not start")
    return running


def timed(app: Sanic[Any, Any], requests: int) -> float:
    """Seconds per request for `requests` more, in an event loop of their own (Sanic binds its signals to one)."""

    async def run() -> float:
        running = await started(app)
        await drive(app, 20, 409)  # warm up
        seconds = await drive(app, requests, 409)
        running.cancel()
        return seconds

    return asyncio.run(run())


def measured(apps: dict[str, Sanic[Any, Any]], *, requests: int, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` seconds per request for each app, the apps taking turns in each round."""
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(repeat):
        for name, app in apps.items():
            best[name] = min(best[name], timed(app, requests))
    return best


def quiet() -> None:
    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    logging.getLogger("sanic.root").setLevel(logging.WARNING)


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    quiet()
    times = measured(contenders(), requests=200, repeat=repeat)
    base = times[FLOOR]
    ours = times[INSTALLED] - base
    rows = error_table("Error path on Sanic (as ASGI): a handler raising a catalogued 409", times, FLOOR, INSTALLED)
    verdicts = [
        f"Sanic 409: problemdetails installed costs {ours * 1e6:.1f} µs above the floor; Sanic's own exception path "
        f"returning the floor's bytes costs {(times[OWN_PATH] - base) * 1e6:.1f} µs, and "
        f"{(times[HOOKED] - base) * 1e6:.1f} µs once the app has the middleware and the signal a layer hooks (Sanic "
        "drops its middleware and signal machinery from an app that has none). There is no maintained peer to be "
        "ahead of."
    ]
    return rows, verdicts


__all__ = ["contenders", "measured", "run", "started"]
