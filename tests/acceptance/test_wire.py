"""The exact bytes on the wire for hostile input, under real servers on 127.0.0.1.

A raw-socket client reads every byte the server sends: one status line, each
framing header once, a body as long as its Content-Length, strict UTF-8, and
nothing from a file the site build did not write. Run under uvicorn with both
of its HTTP parsers (httptools passes duplicate headers through; h11 refuses
to send them) and hypercorn.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from problemdetails import Catalog
from problemdetails._site import render_site, write_site
from tests.conftest import BUNDLED, free_port

HERE = Path(__file__).resolve().parent
SERVERS = {
    "uvicorn-httptools": ["-m", "uvicorn", "--http", "httptools", "--log-level", "warning"],
    "uvicorn-h11": ["-m", "uvicorn", "--http", "h11", "--log-level", "warning"],
    "hypercorn": ["-m", "hypercorn"],
}


@dataclass
class Wire:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def one(self, name: str) -> str:
        values = [value for key, value in self.headers if key == name]
        assert len(values) == 1, f"{name}: {values}"
        return values[0]


def exchange(port: int, request: bytes, timeout: float = 10) -> Wire:
    """Send `request` as it is and read until the server closes (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, separator, body = received.partition(b"\r\n\r\n")
    assert separator, f"no complete response head: {received[:200]!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), status_line
    headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    return Wire(int(status_line.split()[1]), headers, body)


def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    fields = {"Host": "127.0.0.1", "Connection": "close", **(headers or {})}
    if body:
        fields["Content-Length"] = str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "site"
    write_site(render_site(Catalog.load(BUNDLED)), folder)
    (folder / ".env").write_text("SECRET_KEY=hunter2")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[remote] url = hunter2")
    secret = folder.parent / "passwd"
    secret.write_text("root:hunter2")
    (folder / "passwd.html").symlink_to(secret)
    return folder


@pytest.fixture(scope="module")
def servers(site: Path) -> Iterator[dict[str, int]]:
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    environment = {**os.environ, "HOSTILE_SITE": str(site)}
    try:
        for name, arguments in SERVERS.items():
            port = free_port()
            if arguments[1] == "hypercorn":
                command = [sys.executable, *arguments, "--bind", f"127.0.0.1:{port}", "hostile_app:app"]
            else:
                command = [sys.executable, *arguments, "--port", str(port), "--app-dir", str(HERE), "hostile_app:app"]
            started[name] = (subprocess.Popen(command, cwd=HERE, env=environment), port)
        deadline = time.monotonic() + 60
        for name, (process, port) in started.items():
            while True:  # bounded by the deadline
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{name} did not start") from None
                    time.sleep(0.1)
        yield {name: port for name, (_, port) in started.items()}
    finally:
        for process, _ in started.values():
            process.terminate()
        for process, _ in started.values():
            process.wait(timeout=10)


def well_framed(wire: Wire) -> dict[str, object]:
    """The checks every problem response passes on the wire; its body, parsed."""
    assert "transfer-encoding" not in {name for name, _ in wire.headers}
    assert int(wire.one("content-length")) == len(wire.body)
    wire.one("x-request-id")
    assert all("\r" not in value and "\n" not in value for _, value in wire.headers)
    document: dict[str, object] = json.loads(wire.body.decode("utf-8")) if "json" in wire.one("content-type") else {}
    return document


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("accept", ["application/problem+json", "application/problem+xml", "text/html"])
def test_a_lone_surrogate_arrives_as_replacement_character(servers: dict[str, int], server: str, accept: str) -> None:
    body = b'{"name": "zone \\ud800 a"}'
    wire = exchange(
        servers[server], request("POST", "/echo", {"Accept": accept, "Content-Type": "application/json"}, body)
    )
    assert wire.status == 409
    well_framed(wire)
    assert "zone \ufffd a" in wire.body.decode("utf-8")


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("source", ["problem", "exception", "rendered"])
def test_a_huge_retry_after_arrives_capped(servers: dict[str, int], server: str, source: str) -> None:
    wire = exchange(servers[server], request("GET", f"/retry/{source}"))
    assert wire.status in (429, 503)
    assert well_framed(wire)["status"] == wire.status
    assert wire.one("retry-after") == "2147483648"


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("source", ["problem", "exception"])
def test_conflicting_framing_headers_never_reach_the_wire(servers: dict[str, int], server: str, source: str) -> None:
    wire = exchange(servers[server], request("GET", f"/framing/{source}"))
    assert wire.status == 409
    document = well_framed(wire)
    assert wire.one("content-type") == "application/problem+json"
    assert wire.one("x-request-id") == document["request_id"] != "forged"
    assert "set-cookie" not in {name for name, _ in wire.headers}
    assert "x-injected" not in {name for name, _ in wire.headers}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(
    "path", ["/errors/.env", "/errors/.git/config", "/errors/passwd.html", "/errors/.problemdetails-site"]
)
def test_the_doc_site_serves_no_file_the_build_did_not_write(servers: dict[str, int], server: str, path: str) -> None:
    wire = exchange(servers[server], request("GET", path))
    assert wire.status == 404
    well_framed(wire)
    assert b"hunter2" not in wire.body
    page = exchange(servers[server], request("GET", "/errors/conflict/"))
    assert page.status == 200
    assert int(page.one("content-length")) == len(page.body)
