"""A yardstick for the happy path: the least a middleware can do and still echo `X-Request-ID`.

The middleware issue asks for `X-Request-ID` on every response. Whatever else
a middleware does, that means wrapping `send` and giving each response start
one more header. `RequestIdOnly` does exactly that and nothing else: it does
not read an incoming id, track the response, or handle any error. Its cost
over the bare app is the floor under ProblemMiddleware's happy-path overhead;
`make bench`, `make bench-instructions` and `make bench-e2e` measure it
beside ours.

`RequestIdInContext` is that plus what `current_request_id()` needs on every
request since observability came in: the scope set in a context variable for
the length of the request, and reset after it (the only thing that follows a
request into the app's tasks and threads).

`RequestIdOnlyWSGI` is the same for WSGI (`benchmarks/bench_wsgi.py`): it
wraps `start_response` and appends the header, and hands the app's iterable
back untouched (PEP 3333 lets a middleware that does not look at the body do
that), so the server still calls the app's own `close()`.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from problemdetails._types import ASGIApp, Message, Receive, Scope, Send

# One C-level `next()` per request, like ProblemMiddleware's own ids.
_ids = map(b"%032x".__mod__, itertools.count())
_str_ids = map("%032x".__mod__, itertools.count())  # WSGI headers are `str`


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


_serving: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("serving", default=None)


class RequestIdInContext(RequestIdOnly):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # `RequestIdOnly`'s body again rather than a call to it: one coroutine per request, as there.
        def send_with_id(message: Message, send: Send = send, request_id: bytes = next(_ids)) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            return send(message)

        token = _serving.set(scope)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _serving.reset(token)


class RequestIdOnlyWSGI:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start_with_id(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: Any = None,
            start_response: Callable[..., Any] = start_response,
            request_id: str = next(_str_ids),
        ) -> Any:
            # A new list: the app's may be a constant it passes again.
            return start_response(status, [*headers, ("X-Request-ID", request_id)], exc_info)

        return self.app(environ, start_with_id)


class _PassedBody:
    """The app's iterable passed on chunk by chunk (a generator), with the app's `close()`."""

    __slots__ = ("iterable",)

    def __init__(self, iterable: Iterable[bytes]) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator[bytes]:
        yield from self.iterable

    def close(self) -> None:
        close = getattr(self.iterable, "close", None)
        if close is not None:
            close()


class RequestIdAndBodyWSGI(RequestIdOnlyWSGI):
    """`RequestIdOnlyWSGI`, plus the least a middleware must do to see a failure in the body.

    PEP 3333's "a failure after the body started is logged and re-raised" needs
    the middleware between the server and the app's iterable: one object and one
    generator per request. This is the floor of any middleware that keeps it.
    """

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return _PassedBody(super().__call__(environ, start_response))
