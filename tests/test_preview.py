"""`problemdetails serve`: a real process on 127.0.0.1 that rebuilds when the catalog changes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import HEADER

CATALOG = HEADER + "problems:\n  gone: {status: 410, title: Gone}\n"


def until(condition: Callable[[], bool], seconds: float = 15) -> None:
    """Poll `condition` until it holds; bounded, so a broken rebuild fails the test instead of hanging it."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.1)


class Served:
    """The `serve` process, its output lines collected by threads (so no read can block the test)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((process.stdout, self.out), (process.stderr, self.err)):
            threading.Thread(target=lines.extend, args=(stream,), daemon=True).start()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    catalog = tmp_path / "catalog" / "errors.yaml"
    catalog.parent.mkdir()
    catalog.write_text(CATALOG)
    command = [sys.executable, "-m", "problemdetails", "serve", str(catalog.parent), "--port", "0"]
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            yield Served(process), catalog
        finally:
            if process.poll() is None:
                process.kill()


def test_serve_previews_and_rebuilds_on_change(served: tuple[Served, Path], tmp_path: Path) -> None:
    server, catalog = served
    until(lambda: len(server.out) == 2)
    assert server.out[0] == "built 1 problem pages\n"
    url = server.out[1].split()[1]
    assert url.startswith("http://127.0.0.1:")
    moved = httpx.get(f"{url}gone")
    assert (moved.status_code, moved.headers["location"]) == (301, "/gone/")
    page = httpx.get(f"{url}gone/")
    assert "<h1>Gone</h1>" in page.text
    assert f"<code>{url}gone</code>" in page.text  # type URIs point at the preview itself
    assert page.headers["cache-control"] == "no-store"

    time.sleep(0.05)  # a new modification time, even on coarse clocks
    catalog.write_text(CATALOG.replace("title: Gone", "title: Gone for good"))
    until(lambda: "<h1>Gone for good</h1>" in httpx.get(f"{url}gone/").text)

    catalog.write_text(CATALOG.replace("status: 410", "stauts: 410"))  # broken: the last good build stays
    until(lambda: "serving the last good build; fix the catalog to rebuild\n" in server.err)
    findings = [line for line in server.err if "errors.yaml" in line]
    assert len(findings) == 1
    assert findings[0].startswith(
        f"{catalog}:6:10: error: unknown key 'stauts' in problem 'gone' (did you mean 'status'?)"
    )
    assert "catalog has 1 error(s) and 0 warning(s)\n" in server.err
    assert "<h1>Gone for good</h1>" in httpx.get(f"{url}gone/").text

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0
    assert not list(tmp_path.glob("problemdetails-preview-*"))  # its build folder is gone with it


def test_serve_on_a_taken_port_says_so(tmp_path: Path) -> None:
    (tmp_path / "errors.yaml").write_text(CATALOG)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "problemdetails", "serve", str(tmp_path), "--port", str(port)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr == f"cannot serve on 127.0.0.1:{port}: Address already in use\n"
    assert "Traceback" not in result.stderr


def test_serve_started_on_a_broken_catalog_says_there_is_no_build_yet(
    served: tuple[Served, Path], tmp_path: Path
) -> None:
    server, catalog = served
    until(lambda: len(server.out) == 2)
    url = server.out[1].split()[1]
    catalog.write_text(CATALOG.replace("status: 410", "stauts: 410"))
    until(lambda: "serving the last good build; fix the catalog to rebuild\n" in server.err)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "errors.yaml").write_text(CATALOG.replace("status: 410", "stauts: 410"))
    command = [sys.executable, "-m", "problemdetails", "serve", str(broken), "--port", "0"]
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        started = Served(process)
        try:
            until(lambda: len(started.out) == 1)
            assert "no good build yet: serving a page that says so; fix the catalog to rebuild\n" in started.err
            assert not any("last good build" in line for line in started.err)
            url = started.out[0].split()[1]
            page = httpx.get(url)
            assert "<h1>No build yet</h1>" in page.text
            (broken / "errors.yaml").write_text(CATALOG)
            until(lambda: "<h1>Gone</h1>" in httpx.get(f"{url}gone/").text)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def test_serve_logs_hostile_requests_safely_and_stops_cleanly_on_a_second_sigterm(
    served: tuple[Served, Path], tmp_path: Path
) -> None:
    server, _ = served
    until(lambda: len(server.out) == 2)
    port = int(server.out[1].split()[1].rstrip("/").rpartition(":")[2])
    for request in (b"GARBAGE\r\n\r\n", b"GET /\x1b[31mred\x07 HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\x01\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request)
            sock.recv(65536)  # the server answers (a 400 or a 404) and closes
    until(lambda: sum("red" in line or "GARBAGE" in line for line in server.err) >= 2)
    server.process.send_signal(signal.SIGTERM)
    server.process.send_signal(signal.SIGTERM)  # while it shuts down
    assert server.process.wait(timeout=10) == 0
    time.sleep(0.2)  # let the reader threads take the last lines
    everything = "".join(server.err)
    assert "Traceback" not in everything
    assert "\x1b" not in everything
    assert "\x07" not in everything
    assert "\\x1b[31mred\\x07" in everything  # escaped, still readable
    assert not list(tmp_path.glob("problemdetails-preview-*"))
