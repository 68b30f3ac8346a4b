"""End to end: real ASGI servers (uvicorn, hypercorn) on 127.0.0.1, a real HTTP client."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

HERE = Path(__file__).resolve().parent
SERVERS = ["uvicorn", "hypercorn"]
FRAMEWORKS = ["starlette", "fastapi", "litestar"]


def command(server: str, framework: str, port: int) -> list[str]:
    target = f"served:{framework}_app"
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE),
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    return [sys.executable, "-m", "hypercorn", "--root-path", "", "--bind", f"127.0.0.1:{port}", target]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[tuple[str, str], str]]:
    """Every (server, framework) pair, started together; stopped at the end."""
    started: dict[tuple[str, str], tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for server in SERVERS:
            for framework in FRAMEWORKS:
                port = free_port()
                process = subprocess.Popen(command(server, framework, port), cwd=HERE)
                started[server, framework] = (process, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for (server, framework), (process, base) in started.items():
            while True:  # bounded by the deadline
                try:
                    httpx.get(f"{base}/ok", timeout=2)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{server} with {framework} did not start") from None
                    time.sleep(0.1)
        yield {key: base for key, (_, base) in started.items()}
    finally:
        for process, _ in started.values():
            process.terminate()
        for process, _ in started.values():
            process.wait(timeout=10)


PAIRS = [(server, framework) for server in SERVERS for framework in FRAMEWORKS]


@pytest.mark.parametrize(("server", "framework"), PAIRS)
@pytest.mark.parametrize(
    ("method", "path", "status", "code", "header"),
    [
        ("GET", "/nowhere", 404, "not-found", None),
        ("DELETE", "/ok", 405, "method-not-allowed", "allow"),
        ("GET", "/auth", 401, "unauthorized", "www-authenticate"),
        ("GET", "/limited", 429, "rate-limited", "retry-after"),
        ("GET", "/crash", 500, "internal", None),
        ("POST", "/invalid?count=abc", None, None, None),
    ],
)
def test_errors_arrive_as_problems(
    servers: dict[tuple[str, str], str],
    server: str,
    framework: str,
    method: str,
    path: str,
    status: int | None,
    code: str | None,
    header: str | None,
) -> None:
    response = httpx.request(method, servers[server, framework] + path, json={"wrong": 1}, timeout=10)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["x-request-id"] == response.json()["request_id"]
    assert response.json()["status"] == response.status_code
    assert b"hunter2" not in response.content
    if status is None:  # validation: 422 from Starlette and FastAPI, 400 from Litestar
        assert (response.status_code, response.json()["code"]) in ((422, "unprocessable"), (400, "bad-request"))
        assert response.json()["errors"]
        return
    assert (response.status_code, response.json()["code"]) == (status, code)
    if header is not None:
        assert response.headers[header]


@pytest.mark.parametrize(("server", "framework"), PAIRS)
def test_failed_stream_is_seen_as_truncated(servers: dict[tuple[str, str], str], server: str, framework: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(servers[server, framework] + "/stream", timeout=10)


@pytest.mark.parametrize(("server", "framework"), PAIRS)
def test_happy_path_and_head(servers: dict[tuple[str, str], str], server: str, framework: str) -> None:
    base = servers[server, framework]
    ok = httpx.get(base + "/ok", headers={"X-Request-ID": "req-e2e-1"}, timeout=10)
    assert (ok.status_code, ok.json(), ok.headers["x-request-id"]) == (200, {"ok": True}, "req-e2e-1")
    get = httpx.get(base + "/nowhere", timeout=10)
    head = httpx.head(base + "/nowhere", timeout=10)
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["content-length"] == get.headers["content-length"]
