"""A yardstick for the happy path: the least a middleware can do and still echo `X-Request-ID`.

The middleware issue asks for `X-Request-ID` on every response. Whatever else
a middleware does, that means wrapping `send` and giving each response start
one more header. `RequestIdOnly` does exactly that and nothing else: it does
not read an incoming id, track the response, or handle any error. Its cost
over the bare app is the floor under ProblemMiddleware's happy-path overhead;
`make bench`, `make bench-instructions` and `make bench-e2e` measure it
beside ours.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable

from problemdetails._types import ASGIApp, Message, Receive, Scope, Send

# One C-level `next()` per request, like ProblemMiddleware's own ids.
_ids = map(b"%032x".__mod__, itertools.count())


class RequestIdOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The same cheapest forms as ProblemMiddleware's: defaults rather than
        # closure cells, and `dict()` plus one item rather than a `{**...}` literal.
        def send_with_id(message: Message, send: Send = send, request_id: bytes = next(_ids)) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                # A new message and list: the app's may be constants it sends again.
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            return send(message)

        await self.app(scope, receive, send_with_id)
