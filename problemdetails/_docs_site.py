"""The doc site served by a middleware under `docs_path`, so type URIs resolve on the running service.

Sans-IO like the responder: `DocsSite.response()` decides the status, headers
and body for a path under the mount; the ASGI and WSGI middlewares send them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import quote

from problemdetails._catalog import Catalog
from problemdetails._site import read_site, render_site

__all__ = ["DocsSite"]

_MEDIA_TYPES = {
    "html": b"text/html; charset=utf-8",
    "json": b"application/json",
    "css": b"text/css; charset=utf-8",
    "js": b"text/javascript; charset=utf-8",
    "svg": b"image/svg+xml",
    "png": b"image/png",
    "ico": b"image/x-icon",
    "woff2": b"font/woff2",
}


def _servable(site: dict[str, bytes]) -> dict[str, bytes]:
    """The site's files a client may fetch: not the marker, nor any other dotfile."""
    return {name: data for name, data in site.items() if not name.startswith(".") and "/." not in name}


class DocsSite:
    """The site of `catalog` under `path`: read from `folder` (a `problemdetails build`), else rendered on first use."""

    def __init__(self, catalog: Catalog, path: str, folder: str | os.PathLike[str] | None) -> None:
        if not (path.startswith("/") and path.endswith("/")):
            raise ValueError(f"docs_path must start and end with '/', not {path!r}")
        self.catalog = catalog
        self.path = path
        # Immutable once built: rendered lazily (once, however many requests ask for it at first), then only read.
        self.files: dict[str, bytes] | None = _servable(read_site(Path(folder))) if folder is not None else None
        self._lock = threading.Lock()

    def render(self) -> dict[str, bytes]:
        """The site's files, rendered by the first caller that needs them; the others wait for it."""
        with self._lock:
            if self.files is None:
                self.files = _servable(render_site(self.catalog))
            return self.files

    def response(self, name: str, query: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """The response for `name` (the path below the mount), or None when the site has no such file.

        Call `render()` first (off the event loop) when `files` is None.
        """
        site = self.files if self.files is not None else self.render()
        file = name + "index.html" if name[-1:] in ("", "/") else name
        page = site.get(file)
        headers = [(b"x-content-type-options", b"nosniff")]
        if page is not None:
            headers += [
                (b"content-type", _MEDIA_TYPES.get(file.rpartition(".")[2], b"application/octet-stream")),
                (b"content-length", b"%d" % len(page)),
                (b"cache-control", b"public, max-age=300"),
            ]
            return 200, headers, page
        if name + "/index.html" in site:
            # `base_uri + slug` has no trailing slash; the page's relative links need one.
            # A relative reference (RFC 9110 §10.2.2), so any mount or root_path is kept.
            location = quote(name.rpartition("/")[2]).encode() + b"/" + (b"?" + query if query else b"")
            headers += [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"location", location),
                (b"content-length", b"0"),
            ]
            return 301, headers, b""
        return None  # the app may serve it; else it is a 404 problem like any other
