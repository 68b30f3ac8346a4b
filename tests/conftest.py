from __future__ import annotations

import socket
import textwrap
from collections.abc import Callable
from pathlib import Path

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
