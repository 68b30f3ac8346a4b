"""An ASGI harness that records every message the app sends.

httpx's ASGITransport drops HEAD bodies and turns exceptions into fake 500s,
so it cannot show HEAD or abort behaviour; this harness shows everything.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from problemdetails._types import ASGIApp, Message


@dataclass
class Exchange:
    messages: list[Message] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def starts(self) -> list[Message]:
        return [m for m in self.messages if m["type"] == "http.response.start"]

    @property
    def status(self) -> int:
        (start,) = self.starts  # exactly one start, always
        status: int = start["status"]
        return status

    @property
    def headers(self) -> dict[str, str]:
        (start,) = self.starts
        names = [name.decode().lower() for name, _ in start["headers"]]
        assert len(names) == len(set(names)), f"repeated headers: {names}"
        return {name.decode().lower(): value.decode() for name, value in start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")

    def json(self) -> Any:
        return json.loads(self.body)


def request_scope(method: str = "GET", path: str = "/", headers: dict[str, str] | None = None) -> dict[str, Any]:
    raw_path, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def call_async(app: ASGIApp, scope: dict[str, Any], body: bytes = b"") -> Exchange:
    exchange = Exchange()
    inbox: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(3600)  # a client that stays connected
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        exchange.messages.append(message)

    try:
        await app(scope, receive, send)
    except Exception as error:  # an abort: the server would drop the connection
        exchange.error = error
    return exchange


def call(
    app: ASGIApp, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None, body: bytes = b""
) -> Exchange:
    return asyncio.run(call_async(app, request_scope(method, path, headers), body))
