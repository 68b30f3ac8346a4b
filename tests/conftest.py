from __future__ import annotations

import socket
import subprocess
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
