"""Random schedules of failures never produce two starts, never leak, always end well-formed.

The schedules also draw hostile values (lone surrogates, 5,000-digit
numbers, deeply nested bodies, exceptions whose `__str__` and `__repr__`
raise, hooks that raise, exception groups): the error path never fails.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from uvicorn.protocols.utils import ClientDisconnected

from problemdetails import Catalog, Problem, ProblemMiddleware, decode_json, decode_xml
from problemdetails._request import request_path
from problemdetails._types import Message, Receive, Scope, Send
from tests.asgi import Exchange, request_scope
from tests.conftest import BUNDLED

if sys.version_info < (3, 11):  # pragma: no cover - anyio's backport
    from exceptiongroup import ExceptionGroup

CATALOG = Catalog.load(BUNDLED)
SECRET = "hunter2-secret"

EXCEPTIONS = st.sampled_from(
    [
        "problem",
        "runtime",
        "http-404",
        "http-401",
        "connection-reset",
        "connection-refused",
        "mapped",
        "surrogate",
        "huge-retry-after",
        "framing-headers",
        "unprintable",
        "failing-map",
        "group-of-one",
        "group-of-two",
        "group-connection-reset",
    ]
)
STATUSES = st.sampled_from([200, 201, 204, 302, 400, 404, 405, 409, 422, 429, 500, 502, 503])
CONTENT_TYPES = st.sampled_from(["text/plain", "application/json", "application/problem+json", None])
# What an error page the app renders itself carries (it is held, then replaced).
CHUNKS = st.sampled_from(["plain", "secret", "nested", "surrogate", "huge-number"])
ACCEPTS = st.sampled_from(["", "application/problem+xml", "text/html", "application/json;q=0.1, text/html"])
HUGE = "9" * 5000


class Mapped(Exception):
    pass


class FailsToMap(Exception):
    pass


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError(SECRET)

    def __repr__(self) -> str:
        raise RuntimeError(SECRET)


def failing_map(exc: Exception) -> Problem:
    raise Unprintable()


def failing_instance(scope: Scope) -> str:
    raise Unprintable()


def exception(kind: str) -> Exception:
    if kind.startswith("group-"):
        members: dict[str, list[Exception]] = {
            "group-of-one": [CATALOG["gone"]("in a task")],
            "group-of-two": [CATALOG["gone"](), RuntimeError(SECRET)],
            "group-connection-reset": [ConnectionResetError(SECRET)],
        }
        return ExceptionGroup("tasks failed", members[kind])
    return {
        "problem": CATALOG["conflict"]("exists"),
        "runtime": RuntimeError(SECRET),
        "http-404": HTTPException(404),
        "http-401": HTTPException(401, headers={"WWW-Authenticate": "Basic"}),
        # The app's own database or upstream failing: crashes, never taken for the client leaving.
        "connection-reset": ConnectionResetError(SECRET),
        "connection-refused": ConnectionRefusedError(SECRET),
        "mapped": Mapped(SECRET),
        "surrogate": CATALOG["conflict"]("name \ud800", conflicts=["\udfff"]),
        "huge-retry-after": HTTPException(503, headers={"Retry-After": HUGE}),
        "framing-headers": CATALOG["conflict"](
            headers={"Content-Length": "1", "Transfer-Encoding": "chunked", "X-Request-ID": "x", "X-Bad": "a\r\nb"}
        ),
        "unprintable": Unprintable(),
        "failing-map": FailsToMap(),
    }[kind]


def chunk(kind: str, schedule: dict[str, Any]) -> bytes:
    if schedule["content_type"] == "application/problem+json":
        return b""
    return {
        "plain": b"chunk",
        "secret": SECRET.encode() if schedule["status"] >= 500 else b"chunk",  # 4xx text may become `detail`
        "nested": b'{"detail": ' + b"[" * 20_000,
        "surrogate": b'{"detail": "\\ud800"}',
        "huge-number": b'{"detail": "x", "status": ' + HUGE.encode() + b"}",
    }[kind]


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    status = draw(STATUSES)
    content_type = draw(CONTENT_TYPES)
    chunks = draw(st.integers(0, 3))
    return {
        "bodies": draw(st.lists(CHUNKS, min_size=chunks, max_size=chunks)),
        "headers": draw(st.sampled_from([[], [(b"retry-after", HUGE.encode())], [(b"x-bad", b"a\nb")]])),
        "starts": draw(st.booleans()),
        "status": status,
        "content_type": content_type,
        "chunks": chunks,
        "completes": draw(st.booleans()),
        # where the exception happens: before start (0), after start (1), after chunk n (2..), after the end
        "raise_at": draw(st.none() | st.integers(0, chunks + 3)),
        "exception": draw(EXCEPTIONS),
        # The ASGI spec's `headers` is any iterable: Sanic sends a generator.
        "headers_as": draw(st.sampled_from(["list", "generator"])),
        # The client hangs up: the server's `send` raises from that message on (None: it stays).
        "gone_at": draw(st.none() | st.integers(0, chunks + 2)),
    }


def schedule_app(schedule: dict[str, Any]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        step = 0

        async def checkpoint() -> None:
            nonlocal step
            if schedule["raise_at"] == step:
                raise exception(schedule["exception"])
            step += 1

        await checkpoint()
        if schedule["starts"]:
            headers = list(schedule["headers"])
            if schedule["content_type"] is not None:
                headers.append((b"content-type", schedule["content_type"].encode()))
            sent = headers if schedule["headers_as"] == "list" else (pair for pair in headers)
            await send({"type": "http.response.start", "status": schedule["status"], "headers": sent})
            await checkpoint()
            problem_body = schedule["content_type"] == "application/problem+json"
            for kind in schedule["bodies"]:
                body = chunk(kind, schedule) if schedule["status"] >= 400 else b"chunk"
                await send({"type": "http.response.body", "body": body, "more_body": True})
                await checkpoint()
            if schedule["completes"]:
                last = b'{"status": %d}' % schedule["status"] if problem_body else b""
                await send({"type": "http.response.body", "body": last, "more_body": False})
        await checkpoint()
        await checkpoint()

    return app


async def served(app: Any, scope: dict[str, Any], gone_at: int | None) -> tuple[Exchange, bool]:
    """The harness's exchange, with a client that hangs up at message `gone_at` (`send` raises), and whether it did."""
    exchange = Exchange()
    gone = False

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal gone
        if len(exchange.messages) == gone_at:
            gone = True
            raise ClientDisconnected  # uvicorn's: "a server-specific subclass of OSError" (the ASGI spec)
        exchange.messages.append(message)

    try:
        await app(scope, receive, send)
    except Exception as error:  # an abort: the server would drop the connection
        exchange.error = error
    return exchange, gone


def problem_body(media_type: str, body: bytes, status: int) -> Problem:
    """The problem a response body carries, in whichever representation it was negotiated."""
    text = body.decode("utf-8")  # strict: every representation is valid UTF-8
    if media_type == "application/problem+xml":
        return decode_xml(body, catalog=CATALOG, status=status)
    if media_type.startswith("text/html"):
        embedded = re.search(r'<script type="application/problem\+json">(.*?)</script>', text, re.S)
        assert embedded is not None
        return decode_json(embedded[1].replace("\\u003c", "<"), catalog=CATALOG, status=status)
    assert json.loads(body)["status"] == status
    return decode_json(body, catalog=CATALOG, status=status)


NEGOTIATED = {
    "": "application/problem+json",
    "application/problem+xml": "application/problem+xml",
    "text/html": "text/html; charset=utf-8",
    "application/json;q=0.1, text/html": "text/html; charset=utf-8",
}


@settings(max_examples=500, deadline=None)
@given(
    schedule=schedules(),
    method=st.sampled_from(["GET", "HEAD"]),
    accept=ACCEPTS,
    debug=st.booleans(),
    instance=st.sampled_from([request_path, failing_instance]),
)
def test_schedules(schedule: dict[str, Any], method: str, accept: str, debug: bool, instance: Any) -> None:
    middleware = ProblemMiddleware(
        schedule_app(schedule),
        catalog=CATALOG,
        exception_map={Mapped: "bad-gateway", FailsToMap: failing_map},
        debug=debug,
        instance=instance,
    )
    scope = request_scope(method, headers={"accept": accept})
    exchange, gone = asyncio.run(served(middleware, scope, schedule["gone_at"]))
    starts = exchange.starts
    assert len(starts) <= 1  # never two starts
    everything = b"".join(m.get("body", b"") for m in exchange.messages) + b"".join(
        value for start in starts for _, value in start["headers"]
    )
    # The secret is only ever in exception messages and in 5xx bodies the app
    # rendered, both of which the middleware replaces.
    if not debug:
        assert SECRET.encode() not in everything
    if gone:  # the client went away: the server said so, and nothing more could be sent
        assert exchange.error is None or isinstance(exchange.error, ClientDisconnected)
        return
    if exchange.error is not None:
        # an abort: only ever after the response started
        assert len(starts) == 1
        return
    assert starts  # an exception the app raised is answered, whatever its class
    if schedule["content_type"] is not None and starts[0]["status"] < 400:
        assert (b"content-type", schedule["content_type"].encode()) in starts[0]["headers"]
    status = starts[0]["status"]
    headers = {name.decode(): value.decode("latin-1") for name, value in starts[0]["headers"]}
    assert headers["x-request-id"]
    ended = [m for m in exchange.messages if m["type"] == "http.response.body" and not m.get("more_body", False)]
    if status >= 400:  # every error response leaves as a problem
        made = "cache-control" in headers  # by the middleware, not passed through from the app
        if made:
            assert headers["content-type"] == NEGOTIATED[accept]
            names = [name for name, _ in starts[0]["headers"]]
            assert len(names) == len(set(names))  # each header once: no second length, type or id
            assert "transfer-encoding" not in headers
            for name, value in starts[0]["headers"]:
                assert re.fullmatch(rb"[!#$%&'*+\-.^_`|~0-9a-z]+", name)
                assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", value)
            if "retry-after" in headers:
                assert int(headers["retry-after"]) <= 2**31
        else:
            assert headers["content-type"] == "application/problem+json"
        if method == "GET" and headers.get("content-length"):
            assert int(headers["content-length"]) == len(exchange.body)
            problem = problem_body(headers["content-type"], exchange.body, status)
            assert isinstance(problem, Problem)
        if method == "HEAD" and made:
            assert exchange.body == b""
    if ended:
        assert len(ended) == 1
