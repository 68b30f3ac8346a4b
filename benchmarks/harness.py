"""How the in-process benchmarks drive an ASGI app: one call per request, in one loop, best of repeats.

No framework is imported here: `bench_observability` measures processes
where OpenTelemetry (which FastAPI now imports) must stay out.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["SCOPE", "drive", "measure"]

SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/zones",
    "raw_path": b"/zones",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 80),
}


async def drive(app: Any, requests: int, expected_status: int) -> float:
    """Seconds per request; raises unless each request got exactly one start with `expected_status`."""
    starts: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            starts.append(message["status"])

    began = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)
    elapsed = time.perf_counter() - began
    if starts != [expected_status] * requests:
        raise AssertionError(f"expected {requests} starts of {expected_status}, got {starts[:5]}...")
    return elapsed / requests


def measure(apps: dict[str, Any], expected_status: int, *, requests: int = 500, repeat: int = 20) -> dict[str, float]:
    """Best-of-`repeat` seconds per request for each app, the apps taking turns in each round.

    Taking turns spreads the machine's drift over every contender alike; many
    short rounds give each one more chances to meet a quiet moment.
    """

    async def rounds() -> dict[str, float]:
        best = dict.fromkeys(apps, float("inf"))
        for app in apps.values():
            await drive(app, 50, expected_status)  # warm up
        for _ in range(repeat):
            for name, app in apps.items():
                best[name] = min(best[name], await drive(app, requests, expected_status))
        return best

    return asyncio.run(rounds())
