"""The Zones service itself: what both transports serve, raising the catalog's problems.

Nothing here knows HTTP or gRPC: `http_app.py` and `grpc_server.py` call the same
methods, and each transport answers a raised problem in its own shape.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path
from typing import Any

from problemdetails import Catalog, ErrorItem

CATALOG = Catalog.load(Path(__file__).with_name("catalog.yaml"))
InvalidZone = CATALOG["invalid-zone"]
ZoneNotFound = CATALOG["zone-not-found"]
ZoneExists = CATALOG["zone-exists"]
ZonePropagating = CATALOG["zone-propagating"]

# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
HOSTNAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class Zones:
    """The zones this service keeps: each new zone is served once its propagation is over."""

    def __init__(self) -> None:
        self._created: dict[str, dt.datetime] = {}
        self._propagating: set[str] = set()
        self._lock = threading.Lock()

    def create(self, name: Any) -> dict[str, str]:
        if not isinstance(name, str) or HOSTNAME.fullmatch(name) is None:
            raise InvalidZone(errors=[ErrorItem(detail="must be a host name", pointer="#/name", code="hostname")])
        with self._lock:
            if name in self._created:
                raise ZoneExists(zone=name, created=self._created[name])
            self._created[name] = dt.datetime.now(dt.timezone.utc)
            self._propagating.add(name)
        return {"name": name}

    def get(self, name: str) -> dict[str, str]:
        with self._lock:
            if name not in self._created:
                raise ZoneNotFound(zone=name)
            if name in self._propagating:  # asked once while it propagates: served from then on
                self._propagating.discard(name)
                raise ZonePropagating(zone=name, retry_after=1)
            return {"name": name, "created": self._created[name].isoformat()}
