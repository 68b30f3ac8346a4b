"""Random schedules of failures never produce two starts, never leak, always end well-formed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException

from problemdetails import Catalog, Problem, ProblemMiddleware, decode_json
from problemdetails._types import Receive, Scope, Send
from tests.asgi import call
from tests.conftest import BUNDLED

CATALOG = Catalog.load(BUNDLED)
SECRET = "hunter2-secret"

EXCEPTIONS = st.sampled_from(["problem", "runtime", "http-404", "http-401", "disconnect", "mapped"])
STATUSES = st.sampled_from([200, 201, 204, 302, 400, 404, 405, 409, 422, 429, 500, 502, 503])
CONTENT_TYPES = st.sampled_from(["text/plain", "application/json", "application/problem+json", None])


class Mapped(Exception):
    pass


def exception(kind: str) -> Exception:
    return {
        "problem": CATALOG["conflict"]("exists"),
        "runtime": RuntimeError(SECRET),
        "http-404": HTTPException(404),
        "http-401": HTTPException(401, headers={"WWW-Authenticate": "Basic"}),
        "disconnect": ConnectionResetError(SECRET),
        "mapped": Mapped(SECRET),
    }[kind]


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    status = draw(STATUSES)
    content_type = draw(CONTENT_TYPES)
    chunks = draw(st.integers(0, 3))
    return {
        "starts": draw(st.booleans()),
        "status": status,
        "content_type": content_type,
        "chunks": chunks,
        "completes": draw(st.booleans()),
        # where the exception happens: before start (0), after start (1), after chunk n (2..), after the end
        "raise_at": draw(st.none() | st.integers(0, chunks + 3)),
        "exception": draw(EXCEPTIONS),
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
            headers = []
            if schedule["content_type"] is not None:
                headers.append((b"content-type", schedule["content_type"].encode()))
            await send({"type": "http.response.start", "status": schedule["status"], "headers": headers})
            await checkpoint()
            problem_body = schedule["content_type"] == "application/problem+json"
            for _ in range(schedule["chunks"]):
                chunk = b"" if problem_body else (SECRET.encode() if schedule["status"] >= 500 else b"chunk")
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await checkpoint()
            if schedule["completes"]:
                last = b'{"status": %d}' % schedule["status"] if problem_body else b""
                await send({"type": "http.response.body", "body": last, "more_body": False})
        await checkpoint()
        await checkpoint()

    return app


@settings(max_examples=400, deadline=None)
@given(schedule=schedules(), method=st.sampled_from(["GET", "HEAD"]))
def test_schedules(schedule: dict[str, Any], method: str) -> None:
    middleware = ProblemMiddleware(schedule_app(schedule), catalog=CATALOG, exception_map={Mapped: "bad-gateway"})
    exchange = call(middleware, method)
    starts = exchange.starts
    assert len(starts) <= 1  # never two starts
    everything = b"".join(m.get("body", b"") for m in exchange.messages) + b"".join(
        value for start in starts for _, value in start["headers"]
    )
    # The secret is only ever in exception messages and in 5xx bodies the app
    # rendered, both of which the middleware replaces.
    assert SECRET.encode() not in everything
    if exchange.error is not None:
        # an abort: only ever after the response started
        assert len(starts) == 1
        return
    if not starts:
        assert schedule["exception"] == "disconnect"  # a client that went away gets nothing
        return
    status = starts[0]["status"]
    headers = {name.decode(): value.decode() for name, value in starts[0]["headers"]}
    assert headers["x-request-id"]
    ended = [m for m in exchange.messages if m["type"] == "http.response.body" and not m.get("more_body", False)]
    if status >= 400:  # every error response leaves as a problem
        assert headers.get("content-type") == "application/problem+json"
        if method == "GET" and headers.get("content-length"):
            problem = decode_json(exchange.body, catalog=CATALOG, status=status)
            assert isinstance(problem, Problem)
            assert json.loads(exchange.body)["status"] == status
        if method == "HEAD" and "cache-control" in headers:  # one the middleware made
            assert exchange.body == b""
    if ended:
        assert len(ended) == 1
