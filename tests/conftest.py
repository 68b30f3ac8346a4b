from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from problemdetails import Catalog

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "catalog"

HEADER = """\
catalog:
  name: Test API
  base_uri: https://errors.example.com/
  version: 1.0.0
"""


@pytest.fixture(scope="session")
def bundled() -> Catalog:
    return Catalog.load(BUNDLED)


WriteCatalog = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> WriteCatalog:
    """Write dedented YAML into tmp_path/<name> and return its path."""

    def write(text: str, name: str = "errors.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def get_when_serving(url: str, server: subprocess.Popen[Any], seconds: float = 20) -> httpx.Response:
    """GET `url` once the server process answers; bounded: fails after `seconds` or if the server exits."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.1)


def served_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server side logged: every record but those of the HTTP client a test drives it with."""
    return [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]


def serve_with_uvicorn(target: str, check: Callable[[str], None]) -> str:
    """Serve `target` (`module:attribute`) with uvicorn on 127.0.0.1, run `check(base_url)`, stop it; its output.

    What `fastapi run`, `litestar run` and `uvicorn module:app` do with an app object. Bounded: the server
    must answer within `get_when_serving`'s wait, and is killed when it does not stop in 15 s.
    """
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        assert get_when_serving(base + "/ok", server).status_code == 200
        check(base)
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate(timeout=15)
    return output.decode(errors="replace")


_GIVEN: set[int] = set()  # ports this process handed out: a server may not have bound its port yet


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not handed out before in this process.

    The kernel may give a just-closed port to the next `bind(("127.0.0.1", 0))`: with many servers started
    together (the contract suite starts dozens), two would otherwise be told the same port.
    """
    for _ in range(1000):  # bounded: the ephemeral range holds thousands of ports
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port
    raise RuntimeError("no TCP port on 127.0.0.1 that this process has not handed out already")


class Answer:
    """A response as a test client without `httpx`'s shape gave it: status, lowercase headers, content."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """`response` (a test client's, or httpx's) is a complete problem+json of `status` and `code`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-length"] == str(len(response.content))
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body
