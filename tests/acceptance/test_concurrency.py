"""Many concurrent requests under uvicorn on 127.0.0.1: no cross-talk, valid problems, one ERROR per crash.

`make test` runs it at a small size; set PD_CONCURRENT_REQUESTS for a bigger
run (`make bench-e2e` does).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from problemdetails import Catalog, decode_json
from tests.conftest import ROOT, free_port, get_when_serving

REQUESTS = int(os.environ.get("PD_CONCURRENT_REQUESTS", "600"))
CONNECTIONS = 50
ROUTES = ["/ok", "/conflict", "/crash", "/no/such/path"]
CATALOG = Catalog.load(ROOT / "catalog")


async def hammer(base: str) -> list[tuple[str, str, httpx.Response]]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        # As many in flight as there are connections: httpx's pool slows down
        # quadratically with thousands of requests queued for a connection.
        in_flight = asyncio.Semaphore(CONNECTIONS)

        async def one(number: int) -> tuple[str, str, httpx.Response]:
            route, request_id = ROUTES[number % len(ROUTES)], f"req-{number:06d}"
            async with in_flight:
                return route, request_id, await client.get(route, headers={"X-Request-ID": request_id})

        return await asyncio.gather(*(one(number) for number in range(REQUESTS)))


def test_concurrent_requests_keep_their_own_ids_and_log_each_crash_once(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "tests" / "acceptance"), "concurrent_app:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with subprocess.Popen(command, stderr=log) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            get_when_serving(f"{base}/ok", server)
            results = asyncio.run(asyncio.wait_for(hammer(base), timeout=120))
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()

    statuses: Counter[int] = Counter()
    for route, request_id, response in results:
        assert response.headers["x-request-id"] == request_id  # no cross-talk between requests
        statuses[response.status_code] += 1
        if route == "/ok":
            assert (response.status_code, response.json()) == (200, {"ok": True})
            continue
        assert response.headers["content-type"] == "application/problem+json"
        problem = decode_json(response.content, catalog=CATALOG, status=response.status_code)
        assert problem.request_id == request_id
        assert problem.code == {"/conflict": "conflict", "/crash": "internal"}.get(route, "not-found")
        if route == "/conflict":
            assert problem.members["conflicts"] == [request_id]  # built from this request, not another
        assert "hunter2" not in response.text
    assert statuses == {200: REQUESTS // 4, 409: REQUESTS // 4, 500: REQUESTS // 4, 404: REQUESTS // 4}

    errors = re.findall(r"^ERROR problemdetails .*request_id=(req-\d+)", (tmp_path / "server.log").read_text(), re.M)
    crashed = sorted(request_id for route, request_id, _ in results if route == "/crash")
    assert sorted(errors) == crashed  # exactly one ERROR entry per unhandled exception, with its id
