"""The doc site served by a middleware under `docs_path`, so type URIs resolve on the running service.

Sans-IO like the responder: `DocsSite.response()` decides the status, headers
and body for a path under the mount; the ASGI and WSGI middlewares send them.

With translations, the site's root pages answer in the language the request
asks for (RFC 9110 §12.5.4 `Accept-Language`, the responder's RFC 4647 lookup):
the default language's page itself, or a redirect to the same page in the
language's folder (`fr/conflict/`), whose relative links only work from there.
The pages in a language's folder are that language's whatever the request
says, so a reader's choice in the language switcher sticks.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import quote

from problemdetails._catalog import Catalog
from problemdetails._response import choose_language
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

# A negotiated answer differs with the request's languages: caches keep one per `Accept-Language`
# (RFC 9110 §12.5.5), the redirects and the default language's page alike.
_NEGOTIATED = (b"vary", b"Accept-Language")


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
        self.files: dict[str, bytes] | None = None
        self.languages: tuple[str, ...] = ()  # the site's language folders, the default first; () without any
        if folder is not None:
            self._use(_servable(read_site(Path(folder))))
        self._lock = threading.Lock()

    def _use(self, files: dict[str, bytes]) -> None:
        # The languages whose folders the site has: a site built before a translation was added has none for it.
        found = tuple(language for language in self.catalog.languages if f"{language}/index.html" in files)
        self.languages = found if len(found) > 1 and found[0] == self.catalog.language else ()
        self.files = files

    def render(self) -> dict[str, bytes]:
        """The site's files, rendered by the first caller that needs them; the others wait for it."""
        with self._lock:
            if self.files is None:
                self._use(_servable(render_site(self.catalog)))
            assert self.files is not None
            return self.files

    def response(
        self, name: str, query: bytes, accept_language: str = ""
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """The response for `name` (the path below the mount), or None when the site has no such file.

        `accept_language` is the request's `Accept-Language` (its field lines joined):
        a root page of a site with translations answers in the language it asks for.
        Call `render()` first (off the event loop) when `files` is None.
        """
        site = self.files if self.files is not None else self.render()
        file = name + "index.html" if name[-1:] in ("", "/") else name
        page = site.get(file)
        path = name
        if page is None:
            if name + "/index.html" not in site:
                return None  # the app may serve it; else it is a 404 problem like any other
            # `base_uri + slug`: the page's folder without its slash, which its relative links need.
            path, file = name + "/", name + "/index.html"
        headers = [(b"x-content-type-options", b"nosniff")]
        language = self._language(file, accept_language)
        if language is not None:
            headers.append(_NEGOTIATED)
            if language != self.catalog.language and f"{language}/{file}" in site:
                # From the request's own folder, so the relative reference keeps any mount or root_path.
                location = "../" * name.count("/") + quote(f"{language}/{path}")
                return 302, [*headers, *_redirect(location, query), (b"cache-control", b"public, max-age=300")], b""
        if page is None:
            # A relative reference (RFC 9110 §10.2.2), so any mount or root_path is kept.
            return 301, [*headers, *_redirect(quote(name.rpartition("/")[2]) + "/", query)], b""
        kind = file.rpartition(".")[2]
        headers += [
            (b"content-type", _MEDIA_TYPES.get(kind, b"application/octet-stream")),
            (b"content-length", b"%d" % len(page)),
            (b"cache-control", b"public, max-age=300"),
        ]
        written_in = (language or self._folder_language(file)) if kind == "html" else None
        if written_in is not None:  # RFC 9110 §8.5
            headers.append((b"content-language", written_in.encode()))
        return 200, headers, page

    def _language(self, file: str, accept_language: str) -> str | None:
        """The language a root page answers in, for `Accept-Language`; None for any other file, or one language."""
        languages = self.languages
        if not languages or not file.endswith(".html") or file.partition("/")[0] in languages:
            return None
        return choose_language(accept_language, languages)

    def _folder_language(self, file: str) -> str | None:
        """The language of a page in a language's folder (`fr/conflict/index.html`); None for another file."""
        first, slash, _ = file.partition("/")
        return first if slash and first in self.languages else None


def _redirect(location: str, query: bytes) -> list[tuple[bytes, bytes]]:
    """The headers of a redirect to `location` (relative), the request's query kept (`?q=` of the index)."""
    return [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"location", location.encode() + (b"?" + query if query else b"")),
        (b"content-length", b"0"),
    ]
