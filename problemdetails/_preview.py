"""`problemdetails serve`: preview the doc site locally, rebuilt when the catalog or theme changes.

A development tool, not a production server (deploy the output of `build` to
any static host, or mount it with `ProblemMiddleware(docs_path=..., docs_dir=...)`).
It uses only the standard library's HTTP server. A catalog edit that breaks
the catalog prints every finding and keeps serving the last good build (or,
before there is one, a page that says so).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from problemdetails._console import load_catalog
from problemdetails._exceptions import SiteError
from problemdetails._grammar import loggable
from problemdetails._site import default_theme, forget_themes, render_site, write_site

__all__ = ["preview"]

_POLL_SECONDS = 0.3


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a preview: always the latest build
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        # A malformed request line is logged before `command` and `path` are set; what
        # the request carries is escaped, so it cannot reach the terminal as control codes.
        request = getattr(self, "requestline", "") or ""
        sys.stderr.write(f"{loggable(request)} {loggable(str(args[1])) if len(args) > 1 else ''}\n")


def _snapshot(paths: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """What the build reads, by path, modification time and size: a change means rebuild."""
    files: list[Path] = []
    for path in paths:
        files += [p for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else [path]
    stamps = []
    for file in files:
        try:
            stat = file.stat()
        except FileNotFoundError:
            continue  # removed while we looked: the next poll sees it gone
        stamps.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _interrupt(signum: int, frame: object) -> None:
    # Once: a second SIGTERM (or Ctrl-C) while shutting down must not cut the clean-up short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


_NO_BUILD_YET = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>No build yet</title><meta http-equiv="refresh" content="2"></head>
<body><main><h1>No build yet</h1><p>The catalog has errors: the terminal lists them. This page
reloads, and the site appears as soon as the catalog is fixed.</p></main></body>
</html>
"""


def preview(paths: Sequence[str], *, host: str, port: int, theme: str | None, base_url: str | None) -> int:
    """Serve the site of `paths` on `host:port` until interrupted; returns the exit status."""
    work = Path(tempfile.mkdtemp(prefix="problemdetails-preview-"))
    folder = work / "site"
    folder.mkdir()
    theme_folder = Path(theme) if theme else None
    try:
        server = http.server.ThreadingHTTPServer((host, port), functools.partial(_Handler, directory=str(folder)))
    except OSError as error:  # the port is taken, the address is not this machine's...
        shutil.rmtree(work, ignore_errors=True)
        print(f"cannot serve on {host}:{port}: {error.strerror or error}", file=sys.stderr)
        return 1
    address = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_address[1]}/"

    good = threading.Event()  # a build has succeeded: there is a last good one to keep serving

    def build() -> None:
        catalog = load_catalog(paths, base_url=base_url or address)
        failure = "fix the catalog to rebuild" if catalog is None else ""
        if catalog is not None:
            try:
                write_site(render_site(catalog, theme=theme_folder), folder)
            except SiteError as error:
                print(error, file=sys.stderr)
                failure = "fix the theme to rebuild"
        if not failure:
            good.set()
            print(f"built {len(catalog or ())} problem pages", flush=True)
        elif good.is_set():
            print(f"serving the last good build; {failure}", file=sys.stderr)
        else:
            write_site({"index.html": _NO_BUILD_YET.encode()}, folder)
            print(f"no good build yet: serving a page that says so; {failure}", file=sys.stderr)

    watched = [Path(p) for p in paths] + [theme_folder or default_theme()]
    stop = threading.Event()

    def watch() -> None:
        seen = _snapshot(watched)
        while not stop.wait(_POLL_SECONDS):
            current = _snapshot(watched)
            if current != seen:
                seen = current
                forget_themes()
                build()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # a process manager (or a test) stops it like Ctrl-C
    build()
    watcher = threading.Thread(target=watch, name="problemdetails-watch", daemon=True)
    watcher.start()
    print(f"serving {address} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        watcher.join(timeout=2)
        shutil.rmtree(work, ignore_errors=True)
    return 0
