"""Tornado, with its convention: `problemdetails.install(application, catalog=CATALOG)`.

Tornado's own server runs it: `python -m examples.frameworks.tornado_app --port 8000`.
Tornado has no middleware: what another framework's middleware does, a base
handler's `prepare` does here (`/from-middleware`).
"""

from __future__ import annotations

import argparse
import asyncio

from tornado import web

from examples.frameworks.common import CATALOG, EXCEPTION_MAP, SECRET, ZoneLocked, conflict, forbidden, gone
from problemdetails import install


class BaseHandler(web.RequestHandler):
    """The app's own base handler: where a Tornado app puts what another framework's middleware does."""

    def prepare(self) -> None:
        if self.request.path == "/from-middleware":
            raise forbidden()


class Ok(BaseHandler):
    def get(self) -> None:
        self.write({"ok": True})


class Conflict(BaseHandler):
    def get(self) -> None:
        raise conflict()


class Invitation(BaseHandler):
    async def get(self) -> None:
        raise gone()


class Crash(BaseHandler):
    def get(self) -> None:
        raise RuntimeError(SECRET)


class Unavailable(BaseHandler):
    def get(self) -> None:
        raise CATALOG["unavailable"](retry_after=30)


class Mapped(BaseHandler):
    def get(self) -> None:
        raise ZoneLocked("zone z1 is locked")


class TooManyRequests(BaseHandler):
    def get(self) -> None:
        # Tornado's `HTTPError` has no headers: a handler sets them, and its `send_error` would clear them.
        self.set_header("Retry-After", "7")
        raise web.HTTPError(429, "client %s over its limit", self.request.remote_ip, reason="Slow down.")


class Stream(BaseHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.write(b"x" * 10)
        await self.flush()
        raise RuntimeError("the disk went away")


def make_app() -> web.Application:
    application = web.Application(
        [
            (r"/ok", Ok),
            (r"/conflict", Conflict),
            (r"/class", Invitation),
            (r"/from-middleware", BaseHandler),
            (r"/crash", Crash),
            (r"/unavailable", Unavailable),
            (r"/mapped", Mapped),
            (r"/http-error", TooManyRequests),
            (r"/stream", Stream),
        ]
    )
    return install(application, catalog=CATALOG, exception_map=EXCEPTION_MAP)


async def main(host: str, port: int) -> None:
    make_app().listen(port, address=host)
    await asyncio.Event().wait()  # serve until stopped


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.host, arguments.port))
