"""What every framework example shares: the bundled catalog, one mapped exception, a failing stream.

Each `<framework>_app.py` builds its app the way that framework's docs do,
with the same routes, and wraps it in one line. `tests/acceptance/
test_frameworks.py` serves each under real servers and checks one contract:

| route | what it does | the problem |
|---|---|---|
| `GET /ok` | answers 200 | none: only `X-Request-ID` is added |
| `GET /conflict` | raises `conflict` in a view | 409, `conflicts: ["a1"]` |
| `GET /class` | raises `gone` in a class-based view | 410 |
| `GET /from-middleware` | the framework's own middleware raises `forbidden` | 403 |
| `GET /crash` | raises `RuntimeError` with a secret in it | 500 `internal`, nothing leaked |
| `GET /mapped` | raises `ZoneLocked`, mapped to `conflict` | 409 |
| `GET /nope` | no such route | 404 `not-found` |
| `POST /conflict` | the route is GET only | 405 with `Allow` |
| `GET /http-error` | the framework's own HTTP error (429 with `Retry-After: 7` where it has headers) | its status |
| `GET /stream` | streams 10 bytes, then fails | 200, truncated, logged |
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from problemdetails import Catalog

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")
SECRET = "password=hunter2 in /srv/app/settings.py"


class ZoneLocked(Exception):
    """An exception of the app's own, mapped to a slug with `exception_map`."""


EXCEPTION_MAP: dict[type[BaseException], str] = {ZoneLocked: "conflict"}


def conflict() -> Exception:
    return CATALOG["conflict"](detail="Zone example.com already exists.", conflicts=["a1"])


def gone() -> Exception:
    return CATALOG["gone"](detail="This invitation expired.")


def forbidden() -> Exception:
    return CATALOG["forbidden"](detail="Refused by the gateway middleware.")


def chunks() -> Iterator[bytes]:
    yield b"x" * 10
    raise RuntimeError("the disk went away")


async def async_chunks() -> AsyncIterator[bytes]:
    yield b"x" * 10
    raise RuntimeError("the disk went away")
