"""`make soak`: a million error responses in-process, then a sustained run under uvicorn, watching memory.

Bounded: minutes, not hours. Every response is checked to be a problem (or
the one healthy route's JSON); memory is sampled as RSS and, in-process, with
`tracemalloc`. The report (benchmarks/SOAK.md) shows the samples and whether
memory stayed flat after warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import threading
import time
import tracemalloc
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from benchmarks.e2e.load import Load, drive, rss, serve
from benchmarks.harness import SCOPE
from benchmarks.report import publish
from problemdetails import Catalog, ProblemMiddleware

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
GROWTH_LIMIT = 4 * 1024 * 1024  # bytes of growth after warm-up that still count as flat


class Counting(logging.Handler):
    """Counts records without formatting them (a real handler's I/O is not what is measured)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def conflict(request: Request) -> Response:
    raise CATALOG["conflict"]("name+type exists", conflicts=["r1"])


async def crash(request: Request) -> Response:
    raise RuntimeError("unhandled")


async def rendered(request: Request) -> Response:
    return PlainTextResponse("gone fishing", status_code=503)


async def denied(request: Request) -> Response:
    raise HTTPException(401, "token expired")


async def invalid(request: Request) -> Response:
    raise CATALOG["unprocessable"](errors=[{"detail": "required", "pointer": "#/name"}])


APP = ProblemMiddleware(
    Starlette(
        routes=[
            Route("/conflict", conflict),
            Route("/crash", crash),
            Route("/rendered", rendered),
            Route("/denied", denied),
            Route("/invalid", invalid),
        ]
    ),
    catalog=CATALOG,
)
PATHS = ["/conflict", "/crash", "/rendered", "/denied", "/invalid", "/unknown"]


async def in_process(total: int, traced: int, samples: int) -> tuple[list[tuple[int, int, int | None]], int, int]:
    """(responses, RSS, traced bytes) samples; non-problem responses; ERROR records.

    `tracemalloc` makes every allocation several times slower, so it traces
    the first `traced` responses only; RSS is sampled throughout.
    """
    counting = Counting()
    logger = logging.getLogger("problemdetails")
    logger.addHandler(counting)
    logger.propagate = False
    bad = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    tracemalloc.start()
    rows: list[tuple[int, int, int | None]] = []
    step = total // samples
    for number in range(total):
        path = PATHS[number % len(PATHS)]
        scope = {**SCOPE, "path": path, "raw_path": path.encode()}
        await APP(scope, receive, send)
        if dict(sent[0].get("headers", ())).get(b"content-type") != b"application/problem+json":
            bad += 1
        sent.clear()
        if (number + 1) % step == 0 or number + 1 == traced:
            gc.collect()
            tracing = tracemalloc.is_tracing()
            rows.append((number + 1, rss(), tracemalloc.get_traced_memory()[0] if tracing else None))
        if number + 1 == traced:
            tracemalloc.stop()
    tracemalloc.stop()
    logger.removeHandler(counting)
    logger.propagate = True
    return rows, bad, counting.count


def sustained(seconds: float, samples: int) -> tuple[list[tuple[float, int]], Load]:
    """wrk against uvicorn for `seconds`, sampling the server's RSS: (elapsed, RSS) samples and the load."""
    paths = ["/conflict", "/crash", "/no/such/path"]
    rows: list[tuple[float, int]] = []
    with serve(ROOT / "tests" / "acceptance", "concurrent_app:app") as (base, pid):
        done = threading.Event()
        start = time.monotonic()

        def sample() -> None:
            while not done.wait(seconds / samples):
                rows.append((time.monotonic() - start, rss(pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        rows.append((0.0, rss(pid)))
        sampler.start()
        try:
            load = drive(base, paths, seconds=seconds, connections=32)
        finally:
            done.set()
            sampler.join(timeout=5)
        rows.append((time.monotonic() - start, rss(pid)))
    return rows, load


def flat(values: list[int]) -> tuple[bool, int]:
    """Growth after the first fifth (warm-up) and whether it stays within the bound."""
    after = values[len(values) // 5 :]
    growth = max(after) - after[0]
    return growth <= GROWTH_LIMIT, growth


def kib(value: float) -> str:
    return f"{value / 1024:,.1f} KiB"


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--traced", type=int, default=200_000, help="responses traced by tracemalloc")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    rows, bad, errors = asyncio.run(in_process(args.requests, args.traced, 20))
    in_process_seconds = time.monotonic() - started
    served, load = sustained(args.seconds, 12)
    rss_ok, rss_growth = flat([row[1] for row in rows])
    traced_ok, traced_growth = flat([row[2] for row in rows if row[2] is not None])
    served_ok, served_growth = flat([row[1] for row in served])
    crashes = len(range(PATHS.index("/crash"), args.requests, len(PATHS)))
    lines = [
        "# Soak report",
        "",
        "Written by `make soak` (`benchmarks/soak.py`); do not edit by hand.",
        "",
        f"## In-process: {args.requests:,} error responses in {in_process_seconds:.0f} s",
        "",
        "Mixed kinds through `ProblemMiddleware` on Starlette: a raised catalogued problem, an unhandled exception,",
        "a rendered text 503 (rewritten), an `HTTPException(401)`, a validation problem, an unknown URL (404).",
        f"Each sample follows a full garbage collection; tracemalloc traces the first {args.traced:,} responses.",
        "",
        "| responses | RSS | traced by tracemalloc |",
        "|---:|---:|---:|",
        *[
            f"| {count:,} | {mib(size)} | {mib(traced) if traced is not None else '-'} |"
            for count, size, traced in rows
        ],
        "",
        f"- Non-problem responses: {bad}.",
        f"- ERROR log records: {errors:,}; unhandled exceptions raised: {crashes:,}.",
        f"- After warm-up (the first fifth), RSS grew {mib(rss_growth)} and traced memory {kib(traced_growth)} "
        f"(bound {mib(GROWTH_LIMIT)}): **{'flat' if rss_ok and traced_ok else 'NOT flat'}**.",
        "",
        f"## Under uvicorn: {args.seconds:.0f} s of sustained error traffic, {load.checked:,} responses",
        "",
        "wrk, 32 keep-alive connections on 127.0.0.1, cycling a catalogued 409, an unhandled exception and an",
        f"unknown URL: {load.requests_per_second:,.0f} requests/s, p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms.",
        "",
        "| seconds | server RSS |",
        "|---:|---:|",
        *[f"| {elapsed:.0f} | {mib(size)} |" for elapsed, size in served],
        "",
        f"- Non-problem responses (checked by wrk's script on every response): {load.not_problems}.",
        f"- After warm-up, the server's RSS grew {mib(served_growth)}: **{'flat' if served_ok else 'NOT flat'}**.",
        "",
    ]
    text = "\n".join(lines)
    publish(text, args.write)
    healthy = bad == load.not_problems == 0 and errors == crashes
    return 0 if healthy and rss_ok and traced_ok and served_ok else 1


if __name__ == "__main__":
    sys.exit(main())
