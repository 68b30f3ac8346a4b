"""Tornado in-process: a handler raising a catalogued 409, beside tornado-problem-details and Tornado's own path.

The contenders, each an application answering `GET /zones`:
- the floor: the handler writes the pre-encoded problem bytes itself;
- Tornado's own exception path: the handler raises Tornado's `HTTPError(409)` and a `write_error`
  of its own writes those bytes (what a hand-written integration does at the least);
- tornado-problem-details, the nearest peer: its `ErrorWriter` mixin, the handler raising its
  `Problem` with the same members;
- problemdetails, installed (`problemdetails.install(application, catalog=...)`).

Each request goes the way Tornado's server sends it (`Application.find_handler`, then the
handler delegate's `execute`), over a `tornado.httputil.HTTPConnection` that keeps what the
handler writes instead of a socket: sending bytes is the server's work, the same for every
contender. Each response is checked for its status and media type before timing.

The peer's package is also named `problemdetails`: it is installed apart (`make bench` puts it
under `.venv-bench/peers/`) and imported under its own name, beside this project's.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import time
import types
from pathlib import Path
from typing import Any

from tornado import httputil, web

import problemdetails
from benchmarks.report import error_table
from problemdetails import JSON_MEDIA_TYPE, Catalog, encode_json

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = Path(sys.prefix) / "peers" / "tornado-problem-details"  # in the bench virtualenv (the Makefile)
CATALOG = Catalog.load(ROOT / "catalog")
Conflict = CATALOG["conflict"]
DETAIL = "A record with this name and type already exists in the zone."
FLOOR_BODY = encode_json(Conflict(DETAIL, instance="/zones"))

FLOOR = "floor: the handler writes the pre-encoded bytes"
OWN_PATH = "Tornado's own exception path (`HTTPError`, a `write_error` writing the floor's bytes)"
PEER = "tornado-problem-details"
INSTALLED = "problemdetails installed (`problemdetails.install(application, catalog=...)`)"


def load_peer(folder: Path = PEER_DIR) -> types.ModuleType:
    """tornado-problem-details, whose package is `problemdetails` too, imported apart from this project's."""
    ours = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "problemdetails"}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        peer = importlib.import_module("problemdetails")
        if not hasattr(peer, "ErrorWriter"):
            raise RuntimeError(f"tornado-problem-details is not installed in {folder}: run `make bench`")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == "problemdetails"]:
            del sys.modules[name]
        sys.modules.update(ours)
    return peer


class Connection(httputil.HTTPConnection):
    """Tornado's connection interface, keeping the status and headers a handler writes (no socket)."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: httputil.HTTPHeaders | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def set_close_callback(self, callback: Any) -> None:
        pass

    def write_headers(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        assert isinstance(start_line, httputil.ResponseStartLine)
        self.status, self.headers = start_line.code, headers
        return self._written()

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        return self._written()

    def finish(self) -> None:
        self.done.set_result(None)

    @staticmethod
    def _written() -> asyncio.Future[None]:
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        written.set_result(None)
        return written


HEADERS = {"Host": "127.0.0.1", "Accept": "*/*"}
START_LINE = httputil.RequestStartLine("GET", "/zones", "HTTP/1.1")


async def answer(application: web.Application) -> Connection:
    """One `GET /zones`, as Tornado's server hands it to the application."""
    connection = Connection()
    request = httputil.HTTPServerRequest(
        headers=httputil.HTTPHeaders(HEADERS), connection=connection, start_line=START_LINE
    )
    application.find_handler(request).execute()
    await connection.done
    return connection


def contenders() -> dict[str, web.Application]:
    peer = load_peer()

    class Floor(web.RequestHandler):
        def get(self) -> None:
            self.set_status(409)
            self.set_header("Content-Type", JSON_MEDIA_TYPE)
            self.write(FLOOR_BODY)

    class OwnPath(web.RequestHandler):
        def get(self) -> None:
            raise web.HTTPError(409)

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.set_header("Content-Type", JSON_MEDIA_TYPE)
            self.finish(FLOOR_BODY)

    class Peer(peer.ErrorWriter):  # type: ignore[name-defined]
        def get(self) -> None:
            raise peer.Problem(
                409,
                type="https://errors.example.com/conflict",
                title="Conflict",
                detail=DETAIL,
                instance="/zones",
                code="conflict",
            )

    class Installed(web.RequestHandler):
        def get(self) -> None:
            raise Conflict(DETAIL)

    return {
        FLOOR: web.Application([(r"/zones", Floor)]),
        OWN_PATH: web.Application([(r"/zones", OwnPath)]),
        PEER: web.Application([(r"/zones", Peer)]),
        INSTALLED: problemdetails.install(web.Application([(r"/zones", Installed)]), catalog=CATALOG),
    }


async def drive(application: web.Application, requests: int) -> float:
    """Seconds per request: `requests` `GET /zones` through Tornado's entry from its server."""
    started = time.perf_counter()
    for _ in range(requests):
        await answer(application)
    return (time.perf_counter() - started) / requests


async def check(applications: dict[str, web.Application]) -> None:
    for name, application in applications.items():
        connection = await answer(application)
        assert connection.headers is not None
        media_type = connection.headers.get("Content-Type")
        if (connection.status, media_type) not in ((409, JSON_MEDIA_TYPE), (409, "application/problem+json")):
            raise AssertionError(f"{name}: {connection.status} {media_type}")


async def measure(applications: dict[str, web.Application], *, requests: int, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` seconds per request for each application, the applications taking turns in each round."""
    await check(applications)
    best = dict.fromkeys(applications, float("inf"))
    for application in applications.values():
        await drive(application, 50)  # warm up
    for _ in range(repeat):
        for name, application in applications.items():
            best[name] = min(best[name], await drive(application, requests))
    return best


def quiet() -> None:
    """The 4xx INFO lines and Tornado's access log are not what is measured."""
    logging.getLogger("problemdetails").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.ERROR)


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    quiet()
    times = asyncio.run(measure(contenders(), requests=200, repeat=3 * repeat))
    base = times[FLOOR]
    ours = times[INSTALLED] - base
    rows = error_table("Error path on Tornado: a handler raising a catalogued 409", times, FLOOR, INSTALLED)
    peer = (times[PEER] - base) / ours
    verdicts = [
        f"Tornado 409: problemdetails installed costs {ours * 1e6:.1f} µs above the floor; tornado-problem-details "
        f"costs {peer:.2f}x that (**{'ahead' if peer > 1 else 'NOT ahead'}**); Tornado's own exception path "
        f"writing the floor's bytes costs {(times[OWN_PATH] - base) * 1e6:.1f} µs."
    ]
    return rows, verdicts
