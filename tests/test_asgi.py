from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import re
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException, WebSocketException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from uvicorn.protocols.utils import ClientDisconnected

from problemdetails import (
    Catalog,
    Problem,
    ProblemMiddleware,
    WSGIProblemMiddleware,
    current_request_id,
    decode_json,
    install,
)
from problemdetails._exceptions import SiteError
from problemdetails._exchange import EXCHANGE
from problemdetails._site import render_site, write_site
from problemdetails._types import ASGIApp, Message, Receive, Scope, Send
from tests.asgi import Exchange, call, call_async, request_scope
from tests.conftest import HEADER

SECRET = "db password is hunter2 at /srv/app/secrets.py"


def raising(exc: BaseException) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def test_raised_problem_becomes_its_response(bundled: Catalog) -> None:
    problem = bundled["conflict"]("name+type exists", conflicts=["a1"])
    exchange = call(ProblemMiddleware(raising(problem), catalog=bundled), path="/v1/zones/a b/records?x=1")
    assert exchange.status == 409
    headers = exchange.headers
    assert headers["content-type"] == "application/problem+json"
    assert headers["content-length"] == str(len(exchange.body))
    assert (headers["cache-control"], headers["x-content-type-options"], headers["vary"]) == (
        "no-store",
        "nosniff",
        "Accept, Accept-Language",  # the bundled catalog has translations: its language is negotiated
    )
    assert headers["content-language"] == "en"
    body = exchange.json()
    assert body == {
        "type": "https://errors.example.com/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "name+type exists",
        "instance": "/v1/zones/a%20b/records",  # percent-encoded, no query
        "code": "conflict",
        "request_id": headers["x-request-id"],
        "conflicts": ["a1"],
    }
    assert problem.request_id is None  # the raised object is not changed
    assert problem.instance is None


def test_unhandled_exception_is_internal_and_leaks_nothing(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    exchange = call(ProblemMiddleware(raising(KeyError(SECRET)), catalog=bundled))
    assert exchange.status == 500
    assert exchange.json()["code"] == "internal"
    assert "detail" not in exchange.json()
    everything = exchange.body + b"".join(v for _, v in exchange.starts[0]["headers"])
    for leak in (b"hunter2", b"KeyError", b"secrets.py", b"Traceback"):
        assert leak not in everything
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert exchange.headers["x-request-id"] in record.getMessage()
    assert record.exc_info is not None


def test_debug_adds_a_debug_member(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(raising(KeyError(SECRET)), catalog=bundled, debug=True))
    debug = exchange.json()["debug"]
    assert debug["exception"] == "builtins.KeyError"
    assert "hunter2" in debug["message"]
    assert debug["frames"][-1]["function"] == "app"
    assert exchange.headers["content-type"] == "application/problem+json"


class StoreError(Exception):
    pass


class DuplicateKey(StoreError):
    pass


def test_exception_map_by_mro(bundled: Catalog) -> None:
    middleware = ProblemMiddleware(
        raising(DuplicateKey("k")),
        catalog=bundled,
        exception_map={StoreError: "conflict", TimeoutError: lambda exc: bundled["gateway-timeout"]("slow")},
    )
    assert call(middleware).json()["code"] == "conflict"
    middleware.app = raising(TimeoutError())
    assert call(middleware).json()["detail"] == "slow"
    with pytest.raises(ValueError, match="unknown slug 'nope'"):
        ProblemMiddleware(middleware, catalog=bundled, exception_map={KeyError: "nope"})
    with pytest.raises(ValueError, match=r"KeyError to QuotaExceeded, which requires members \(limit, current\)"):
        ProblemMiddleware(middleware, catalog=bundled, exception_map={KeyError: "quota-exceeded"})


@pytest.mark.parametrize(
    ("exception_map", "error", "message"),
    [
        ({TimeoutError: 42}, TypeError, "maps TimeoutError to 42: map it to a slug, a problem class, or a function"),
        ({TimeoutError: None}, TypeError, "maps TimeoutError to None"),
        ({TimeoutError: b"gone"}, TypeError, "maps TimeoutError to b'gone'"),
        ({"TimeoutError": "gone"}, TypeError, "keys must be exception classes, not 'TimeoutError'"),
        ({int: "gone"}, TypeError, "keys must be exception classes, not <class 'int'>"),
        ({TimeoutError: "nope"}, ValueError, "maps TimeoutError to unknown slug 'nope'"),
    ],
)
def test_every_exception_map_entry_is_checked_at_construction(
    bundled: Catalog, exception_map: Any, error: type[Exception], message: str
) -> None:
    """A mistake fails when the app starts, not as a 500 on every request that meets it."""
    for middleware in (ProblemMiddleware, WSGIProblemMiddleware):
        with pytest.raises(error, match=re.escape(message)):
            middleware(raising(TimeoutError()), catalog=bundled, exception_map=exception_map)


def test_exception_map_takes_a_problem_class(bundled: Catalog) -> None:
    middleware = ProblemMiddleware(raising(TimeoutError()), catalog=bundled, exception_map={OSError: bundled["gone"]})
    assert (call(middleware).status, call(middleware).json()["code"]) == (410, "gone")
    with pytest.raises(ValueError, match="requires members"):
        ProblemMiddleware(middleware, catalog=bundled, exception_map={OSError: bundled["quota-exceeded"]})


def test_failing_exception_map_function_is_internal(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    def broken(exc: Exception) -> Problem:
        raise RuntimeError(SECRET)

    exchange = call(ProblemMiddleware(raising(KeyError()), catalog=bundled, exception_map={KeyError: broken}))
    assert exchange.json()["code"] == "internal"
    assert b"hunter2" not in exchange.body


async def homepage(request: Request) -> Response:
    return JSONResponse({"hello": "world"})


async def teapot(request: Request) -> Response:
    raise HTTPException(401)


async def limited(request: Request) -> Response:
    raise HTTPException(429, detail="Slow down, 10 requests per minute.", headers={"Retry-After": "12"})


async def zone(request: Request) -> Response:
    raise HTTPException(404, detail=f"Zone {request.path_params['id']} not found.")


async def problem_route(request: Request) -> Response:
    raise Problem(status=418, title="I'm a teapot")


async def crash(request: Request) -> Response:
    raise RuntimeError(SECRET)


async def text_error(request: Request) -> Response:
    return PlainTextResponse(SECRET, status_code=503, headers={"Access-Control-Allow-Origin": "*", "ETag": '"x"'})


async def already_problem(request: Request) -> Response:
    return Response(b'{"title":"mine","status":400}', 400, media_type="application/problem+json")


async def redirect(request: Request) -> Response:
    return Response(status_code=307, headers={"Location": "/"})


STARLETTE = Starlette(
    routes=[
        Route("/", homepage),
        Route("/auth", teapot),
        Route("/limited", limited),
        Route("/zones/{id}", zone),
        Route("/teapot", problem_route),
        Route("/crash", crash),
        Route("/text-error", text_error),
        Route("/already", already_problem),
        Route("/redirect", redirect),
    ]
)


@pytest.fixture
def starlette_app(bundled: Catalog) -> ProblemMiddleware:
    return ProblemMiddleware(STARLETTE, catalog=bundled)


def test_happy_path_is_untouched_but_for_the_request_id(starlette_app: ProblemMiddleware) -> None:
    exchange = call(starlette_app, headers={"X-Request-ID": "req_a1b2c3d4"})
    assert (exchange.status, exchange.json()) == (200, {"hello": "world"})
    assert exchange.headers["x-request-id"] == "req_a1b2c3d4"
    assert exchange.headers["content-type"] == "application/json"
    redirect_exchange = call(starlette_app, path="/redirect")
    assert (redirect_exchange.status, redirect_exchange.headers["location"]) == (307, "/")


@pytest.mark.parametrize("bad", ["a" * 129, "bad id", "new\nline", "é"])
def test_invalid_request_ids_are_replaced(starlette_app: ProblemMiddleware, bad: str) -> None:
    exchange = call(starlette_app, headers={"X-Request-ID": bad})
    assert exchange.headers["x-request-id"] != bad
    assert len(exchange.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "extra"),
    [
        ("GET", "/nowhere", 404, "not-found", {}),
        ("DELETE", "/", 405, "method-not-allowed", {"allow": "GET, HEAD"}),
        ("GET", "/auth", 401, "unauthorized", {"www-authenticate": "Bearer"}),
        ("GET", "/limited", 429, "rate-limited", {"retry-after": "12"}),
        ("GET", "/teapot", 418, None, {}),
        ("GET", "/crash", 500, "internal", {}),
        ("GET", "/text-error", 503, "unavailable", {"access-control-allow-origin": "*"}),
    ],
)
def test_starlette_errors_from_outside(
    starlette_app: ProblemMiddleware, method: str, path: str, status: int, code: str | None, extra: dict[str, str]
) -> None:
    exchange = call(starlette_app, method, path)
    assert exchange.status == status
    assert exchange.headers["content-type"] == "application/problem+json"
    body = exchange.json()
    assert body.get("code") == code
    assert body["status"] == status
    assert body["instance"] == path
    for name, value in extra.items():
        if name == "allow":
            assert set(exchange.headers[name].split(", ")) == set(value.split(", "))
        else:
            assert exchange.headers[name] == value
    assert "etag" not in exchange.headers
    assert b"hunter2" not in exchange.body
    assert len(exchange.starts) == 1


def test_http_exception_detail_for_clients(starlette_app: ProblemMiddleware) -> None:
    assert call(starlette_app, path="/zones/z1").json()["detail"] == "Zone z1 not found."
    assert call(starlette_app, path="/limited").json()["detail"] == "Slow down, 10 requests per minute."
    assert "detail" not in call(starlette_app, path="/auth").json()  # just the status phrase


def test_existing_problem_responses_are_not_touched(starlette_app: ProblemMiddleware) -> None:
    exchange = call(starlette_app, path="/already")
    assert exchange.body == b'{"title":"mine","status":400}'
    assert exchange.headers["x-request-id"]


def test_negotiation(starlette_app: ProblemMiddleware) -> None:
    xml = call(starlette_app, path="/zones/<z>", headers={"Accept": "application/problem+xml"})
    assert xml.headers["content-type"] == "application/problem+xml"
    assert xml.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<problem xmlns="urn:ietf:rfc:7807">')
    browser = call(
        starlette_app,
        path="/zones/<script><b>",
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )
    assert browser.headers["content-type"] == "text/html; charset=utf-8"
    page = browser.body.decode()
    assert "<b>" not in page.split("<body>")[1]  # escaped in the page text
    script = page.split('<script type="application/problem+json">')[1].split("</script>")[0]
    assert "<" not in script
    assert decode_json(script.replace("\\u003c", "<")).detail == "Zone <script><b> not found."
    for accept in ("*/*", "image/png", "application/json", "", "application/problem+json;q=0.1, text/html;q=0"):
        exchange = call(starlette_app, path="/nowhere", headers={"Accept": accept})
        assert (exchange.status, exchange.headers["content-type"]) == (404, "application/problem+json")


def test_head_gets_headers_and_no_body(starlette_app: ProblemMiddleware) -> None:
    get = call(starlette_app, "GET", "/nowhere")
    head = call(starlette_app, "HEAD", "/nowhere")
    assert head.status == 404
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.body))


def test_retry_after_from_the_member_and_never_negative(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(raising(bundled["rate-limited"](retry_after=30)), catalog=bundled))
    assert exchange.headers["retry-after"] == "30"
    assert exchange.json()["detail"] == "Rate limit exceeded; retry after 30 seconds."
    odd = bundled["unavailable"](headers={"Retry-After": "soon"})  # neither seconds nor a date: dropped
    assert "retry-after" not in call(ProblemMiddleware(raising(odd), catalog=bundled)).headers
    injected = bundled["unavailable"](headers={"X-Note": "a\r\nSet-Cookie: x=1", "X-Euro": "\u20ac"})
    headers = call(ProblemMiddleware(raising(injected), catalog=bundled)).headers
    assert "x-note" not in headers
    assert "x-euro" not in headers
    assert "set-cookie" not in headers
    negative = bundled["unavailable"](headers={"Retry-After": "-5"})
    assert call(ProblemMiddleware(raising(negative), catalog=bundled)).headers["retry-after"] == "0"
    date = bundled["unavailable"](headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})
    assert call(ProblemMiddleware(raising(date), catalog=bundled)).headers["retry-after"].startswith("Wed,")


def test_uncatalogued_status_is_about_blank(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(raising(HTTPException(413)), catalog=Catalog.from_json(bundled.to_json())))
    assert exchange.json()["code"] == "payload-too-large"
    exchange = call(ProblemMiddleware(raising(HTTPException(414)), catalog=bundled))
    assert exchange.json() == {
        "type": "about:blank",
        "title": "URI Too Long",
        "status": 414,
        "instance": "/",
        "request_id": exchange.headers["x-request-id"],
    }


def streaming_then_failing(chunks: int) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        for _ in range(chunks):
            await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
        raise RuntimeError(SECRET)

    return app


@pytest.mark.parametrize("chunks", [0, 1, 2])  # failing right after the start, or after some of the body
def test_failure_after_start_aborts_without_a_second_start(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, chunks: int
) -> None:
    exchange = call(ProblemMiddleware(streaming_then_failing(chunks), catalog=bundled))
    assert len(exchange.starts) == 1
    assert exchange.status == 200
    assert isinstance(exchange.error, RuntimeError)  # re-raised: the server drops the connection
    assert exchange.body == b"x" * 10 * chunks
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert "aborting" in caplog.records[0].getMessage()


def test_background_task_failure_only_logs(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise RuntimeError(SECRET)

    async def endpoint(request: Request) -> Response:
        return JSONResponse({"ok": True}, background=BackgroundTask(fail))

    exchange = call(ProblemMiddleware(Starlette(routes=[Route("/", endpoint)]), catalog=bundled))
    assert (exchange.status, exchange.json(), exchange.error) == (200, {"ok": True}, None)
    assert "background" in caplog.records[-1].getMessage()


def test_a_disconnect_the_server_signalled_is_not_an_application_error(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """`receive` said `http.disconnect` (Starlette raises ClientDisconnect): nobody is left to answer."""
    caplog.set_level(logging.DEBUG, logger="problemdetails")

    async def endpoint(request: Request) -> Response:
        await request.body()
        return PlainTextResponse("read")

    async def hung_up() -> Message:
        return {"type": "http.disconnect"}

    exchange = Exchange()

    async def send(message: Message) -> None:
        exchange.messages.append(message)

    app = ProblemMiddleware(Starlette(routes=[Route("/", endpoint, methods=["POST"])]), catalog=bundled)
    asyncio.run(app(request_scope("POST"), hung_up, send))
    assert exchange.messages == []
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


@pytest.mark.parametrize("exc", [ConnectionResetError, BrokenPipeError, ClientDisconnected])
def test_a_send_that_fails_is_a_disconnect(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, exc: type[OSError]
) -> None:
    """The server's `send` raised (ASGI: "a server-specific subclass of OSError"): logged at DEBUG only."""
    caplog.set_level(logging.DEBUG, logger="problemdetails")

    async def send(message: Message) -> None:
        raise exc("the client went away")

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def gone() -> None:
        await ProblemMiddleware(PlainTextResponse("hello"), catalog=bundled)(request_scope(), receive, send)

    with pytest.raises(exc):  # re-raised: the server drops the connection
        asyncio.run(gone())
    assert [r.levelno for r in caplog.records if r.levelno > logging.DEBUG] == []


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError("the database at 10.0.0.5:5432 is down"),
        ConnectionResetError("the upstream reset"),
        BrokenPipeError(),
        ClientDisconnected(),  # the server's class, raised by the app: still the app's crash
        ClientDisconnect(RuntimeError("not from the server")),
    ],
    ids=type,
)
def test_an_apps_own_connection_errors_are_crashes(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, exc: Exception
) -> None:
    """A view whose database or upstream is down: the 500 problem, with its request id, logged at ERROR."""
    if isinstance(exc, ClientDisconnect):  # Starlette's, for an OSError out of the app's own streaming body
        try:
            raise ConnectionResetError("upstream")
        except OSError:
            try:
                raise exc
            except ClientDisconnect as raised:
                exc = raised
    exchange = call(ProblemMiddleware(raising(exc), catalog=bundled))
    assert (exchange.status, exchange.json()["code"]) == (500, "internal")
    assert exchange.headers["x-request-id"] == exchange.json()["request_id"]
    assert b"10.0.0.5" not in exchange.body
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert record.exc_info[1] is exc


def test_an_apps_connection_error_in_a_streamed_body_is_logged_at_error(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """After the start, the app's own reset aborts the response, and it is an ERROR, not a DEBUG line."""

    async def chunks() -> Any:
        yield b"partial"
        raise ConnectionResetError("upstream reset")

    async def endpoint(request: Request) -> Response:
        return StreamingResponse(chunks())

    exchange = call(ProblemMiddleware(Starlette(routes=[Route("/", endpoint)]), catalog=bundled))
    assert exchange.error is not None  # aborted: the client sees a truncated response
    assert [r.levelno for r in caplog.records if r.levelno >= logging.ERROR] == [logging.ERROR]


def test_os_errors_of_the_app_are_not_disconnects(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(raising(FileNotFoundError("/srv/app/secret.key")), catalog=bundled))
    assert exchange.json()["code"] == "internal"
    assert b"secret.key" not in exchange.body


def test_app_that_returns_without_a_response(bundled: Catalog) -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    assert call(ProblemMiddleware(silent, catalog=bundled)).json()["code"] == "internal"


def test_streaming_error_status_is_replaced_entirely(bundled: Catalog) -> None:
    async def chunks() -> Any:
        yield b"partial "
        yield b"error text"

    async def endpoint(request: Request) -> Response:
        return StreamingResponse(chunks(), status_code=502, media_type="text/plain")

    exchange = call(ProblemMiddleware(Starlette(routes=[Route("/", endpoint)]), catalog=bundled))
    assert (exchange.status, exchange.json()["code"]) == (502, "bad-gateway")
    assert b"partial" not in exchange.body


def test_same_problem_raised_concurrently_keeps_request_ids_apart(bundled: Catalog) -> None:
    shared = bundled["gone"]("deleted")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.001)
        raise shared

    middleware = ProblemMiddleware(app, catalog=bundled)

    async def many() -> list[Any]:
        scopes = [request_scope(headers={"X-Request-ID": f"req-{n}"}) for n in range(50)]
        return await asyncio.gather(*(call_async(middleware, scope) for scope in scopes))

    for n, exchange in enumerate(asyncio.run(many())):
        assert exchange.json()["request_id"] == exchange.headers["x-request-id"] == f"req-{n}"


def test_lifespan_passes_through(bundled: Catalog) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    asyncio.run(ProblemMiddleware(app, catalog=bundled)({"type": "lifespan"}, _never, _ignore))
    assert seen == ["lifespan"]


async def _never() -> Message:
    await asyncio.sleep(3600)
    return {}


async def _ignore(message: Message) -> None:
    return None


def run_websocket(
    app: Any, extensions: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> list[Message]:
    sent: list[Message] = []
    inbox: list[Message] = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(3600)
        return {"type": "websocket.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {**request_scope(path="/ws", headers=headers), "type": "websocket", "scheme": "ws"}
    scope["extensions"] = extensions or {}
    asyncio.run(app(scope, receive, send))
    return sent


def test_websocket_before_accept(bundled: Catalog) -> None:
    app = ProblemMiddleware(raising(bundled["forbidden"]("suspended")), catalog=bundled)
    assert run_websocket(app) == [{"type": "websocket.close", "code": 4403, "reason": "forbidden"}]
    denial = run_websocket(app, {"websocket.http.response": {}})
    assert [m["type"] for m in denial] == ["websocket.http.response.start", "websocket.http.response.body"]
    assert denial[0]["status"] == 403
    assert decode_json(denial[1]["body"], catalog=bundled).detail == "suspended"


def test_websocket_denials_are_problem_responses_like_any_other(bundled: Catalog) -> None:
    denied = ProblemMiddleware(raising(HTTPException(401)), catalog=bundled)
    start, body = run_websocket(denied, {"websocket.http.response": {}}, {"x-request-id": "ws-req-1"})
    headers = dict(start["headers"])
    assert (start["status"], headers[b"x-request-id"], headers[b"www-authenticate"]) == (401, b"ws-req-1", b"Bearer")
    assert headers[b"content-length"] == b"%d" % len(body["body"])
    document = json.loads(body["body"])
    assert (document["code"], document["instance"], document["request_id"]) == ("unauthorized", "/ws", "ws-req-1")
    start, body = run_websocket(denied, {"websocket.http.response": {}}, {"x-request-id": "bad id\n"})
    assert dict(start["headers"])[b"x-request-id"] == json.loads(body["body"])["request_id"].encode() != b"bad id\n"


def test_websocket_after_accept_and_app_chosen_codes(bundled: Catalog) -> None:
    async def accepted(websocket: WebSocket) -> None:
        await websocket.accept()
        raise bundled["rate-limited"]()

    async def refused(websocket: WebSocket) -> None:
        raise WebSocketException(code=4001, reason="custom")

    app = ProblemMiddleware(
        Starlette(routes=[WebSocketRoute("/ws", accepted), WebSocketRoute("/refused", refused)]), catalog=bundled
    )
    sent = run_websocket(app)
    assert sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": []},
        {"type": "websocket.close", "code": 4429, "reason": "rate-limited"},
    ]


def test_websocket_problems_with_starlette_exception_handlers(bundled: Catalog) -> None:
    from problemdetails import starlette_exception_handlers

    async def before_accept(websocket: WebSocket) -> None:
        raise bundled["forbidden"]("suspended")

    app = ProblemMiddleware(
        Starlette(routes=[WebSocketRoute("/ws", before_accept)], exception_handlers=starlette_exception_handlers()),
        catalog=bundled,
    )
    # The handler leaves WebSocket problems to the middleware: an HTTP response has no place there.
    assert run_websocket(app) == [{"type": "websocket.close", "code": 4403, "reason": "forbidden"}]


def test_log_levels_and_tracebacks(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    call(ProblemMiddleware(raising(bundled["conflict"]()), catalog=bundled))
    call(ProblemMiddleware(raising(bundled["bad-gateway"]()), catalog=bundled))
    call(ProblemMiddleware(raising(ValueError()), catalog=bundled))
    assert [(r.levelno, r.exc_info is not None) for r in caplog.records] == [
        (logging.INFO, False),  # 4xx: INFO, no traceback
        (logging.ERROR, False),  # a catalogued 5xx: ERROR, still no traceback to format
        (logging.ERROR, True),  # an unhandled exception: ERROR with its traceback
    ]


def test_docs_pages_make_type_uris_resolve(write: Any) -> None:
    catalog = Catalog.load(
        write(
            """\
catalog: {name: Zones API, base_uri: "http://127.0.0.1/errors/"}
problems:
  conflict:
    status: 409
    title: Conflict <b>
    summary: It collides.
    description: "Raw <script>alert(1)</script> and **bold**."
    resolution: Retry once.
    members: {conflicts: {type: "list[str]", required: false, description: Colliding ids.}}
  old: {status: 410, title: Old, deprecated: {since: 1.1.0, replaced_by: conflict}}
"""
        )
    )
    app = ProblemMiddleware(raising(catalog["conflict"]()), catalog=catalog, docs_path="/errors/")
    problem = call(app, path="/v1/x").json()
    path = problem["type"].removeprefix("http://127.0.0.1")
    moved = asyncio.run(
        call_async(app, {**request_scope("GET", path, {"X-Request-ID": "req-docs"}), "query_string": b"q=1"})
    )
    # `base_uri + slug` redirects to the page folder, so its relative links work.
    assert (moved.status, moved.headers["location"], moved.headers["x-request-id"]) == (
        301,
        "conflict/?q=1",
        "req-docs",
    )
    page = call(app, path=path + "/")
    assert (page.status, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert page.headers["x-content-type-options"] == "nosniff"
    text = page.body.decode()
    assert "<h1>Conflict &lt;b&gt;</h1>" in text
    assert "&lt;script&gt;" in text
    assert "<script>" not in text
    assert "<strong>bold</strong>" in text
    assert "<code>conflicts</code>" in text
    assert "Retry only after changing" in text
    assert "<strong>Retired</strong> in version 1.1.0" in call(app, path="/errors/old/").body.decode()
    index = call(app, path="/errors/").body.decode()
    assert 'id="conflict"' in index
    assert 'id="old"' in index
    schema = call(app, path="/errors/conflict/schema.json")
    assert schema.headers["content-type"] == "application/json"
    assert schema.json()["properties"]["code"]["const"] == "conflict"
    assert call(app, path="/errors/assets/site.css").headers["content-type"] == "text/css; charset=utf-8"
    head = call(app, "HEAD", "/errors/conflict/")
    assert (head.body, head.headers["content-length"]) == (b"", str(len(page.body)))
    missing = call(app, path="/errors/nope")  # not in the site: the app answers (this one raises conflict)
    assert (missing.status, missing.json()["code"]) == (409, "conflict")
    assert call(app, "POST", "/errors/conflict/").json()["code"] == "conflict"  # only GET and HEAD read the site
    with pytest.raises(ValueError, match="docs_path must start and end with '/'"):
        ProblemMiddleware(app, catalog=catalog, docs_path="/errors")


def test_docs_dir_serves_a_built_site(write: Any, tmp_path: Path) -> None:
    catalog = Catalog.load(write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n"))
    write_site({**render_site(catalog), "extra/logo.svg": b"<svg/>"}, tmp_path / "site")
    app = ProblemMiddleware(raising(RuntimeError()), catalog=catalog, docs_path="/docs/", docs_dir=tmp_path / "site")
    logo = call(app, path="/docs/extra/logo.svg")
    assert (logo.status, logo.headers["content-type"], logo.body) == (200, "image/svg+xml", b"<svg/>")
    assert "<h1>Gone</h1>" in call(app, path="/docs/gone/").body.decode()
    with pytest.raises(SiteError, match="not a site built by"):
        ProblemMiddleware(app, catalog=catalog, docs_path="/docs/", docs_dir=tmp_path)


def test_docs_path_answers_in_the_language_asked_for(bundled: Catalog) -> None:
    """A root page negotiates (RFC 9110 §12.5.4): the default's page, or a redirect to the language's folder."""
    app = ProblemMiddleware(raising(bundled["conflict"]()), catalog=bundled, docs_path="/errors/")
    site = render_site(bundled)
    english = call(app, path="/errors/conflict/")
    assert (english.status, english.body) == (200, site["conflict/index.html"])
    assert (english.headers["content-language"], english.headers["vary"]) == ("en", "Accept-Language")
    french = call(app, path="/errors/conflict/", headers={"Accept-Language": "fr-CA, en;q=0.5"})
    assert (french.status, french.headers["location"], french.headers["vary"]) == (
        302,
        "../fr/conflict/",  # relative, from the page's folder: any mount is kept
        "Accept-Language",
    )
    assert french.body == b""
    # `base_uri + slug` has no slash: one redirect, straight to the language's page.
    german = call(app, path="/errors/conflict", headers={"Accept-Language": "de;q=0.9, fr;q=0.8"})
    assert (german.status, german.headers["location"]) == (302, "de/conflict/")
    english_slash = call(app, path="/errors/conflict", headers={"Accept-Language": "en-GB"})
    assert (english_slash.status, english_slash.headers["location"], english_slash.headers["vary"]) == (
        301,
        "conflict/",
        "Accept-Language",
    )
    index = asyncio.run(
        call_async(app, {**request_scope("GET", "/errors/", {"Accept-Language": "fr"}), "query_string": b"q=quota"})
    )
    assert (index.status, index.headers["location"]) == (302, "fr/?q=quota")  # the index's filter kept
    retry = call(app, path="/errors/retry.html", headers={"Accept-Language": "de"})
    assert (retry.status, retry.headers["location"]) == (302, "de/retry.html")
    # A language's folder is that language, whatever the request asks: the switcher's choice sticks.
    chosen = call(app, path="/errors/en/conflict/", headers={"Accept-Language": "fr"})
    assert (chosen.status, chosen.body, chosen.headers["content-language"]) == (
        200,
        site["en/conflict/index.html"],
        "en",
    )
    assert "vary" not in chosen.headers
    page = call(app, path="/errors/fr/conflict/")
    assert (page.status, page.headers["content-language"]) == (200, "fr")
    assert "<h1>Conflit</h1>" in page.body.decode()
    # Files for machines do not vary: one of each, every language in it.
    schema = call(app, path="/errors/conflict/schema.json", headers={"Accept-Language": "fr"})
    assert schema.status == 200
    assert "vary" not in schema.headers
    assert "content-language" not in schema.headers
    # Languages the site has not, or refused ones, get the default's page.
    for sent in ("es", "fr;q=0, *;q=0.1", "*", "\x00garbage;q=x"):
        assert call(app, path="/errors/conflict/", headers={"Accept-Language": sent}).status == 200, sent


def test_docs_dir_built_without_a_language_serves_the_root(write: Any, tmp_path: Path) -> None:
    """A site built before a translation was added has no folder for it: its root pages answer, as they are."""
    write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n", "errors.yaml")
    plain = Catalog.load(tmp_path / "errors.yaml")
    write_site(render_site(plain), tmp_path / "site")
    translated = Catalog.load(
        write("translations:\n  language: fr\n  problems: {gone: {title: Partie}}\n", "fr.yaml").parent
    )
    app = ProblemMiddleware(raising(RuntimeError()), catalog=translated, docs_path="/docs/", docs_dir=tmp_path / "site")
    page = call(app, path="/docs/gone/", headers={"Accept-Language": "fr"})
    assert (page.status, page.body) == (200, render_site(plain)["gone/index.html"])
    assert "vary" not in page.headers
    assert "content-language" not in page.headers


def test_starlette_exception_handlers_hand_problems_over(bundled: Catalog) -> None:
    from problemdetails import starlette_exception_handlers

    async def conflict(request: Request) -> Response:
        raise bundled["conflict"]("exists", conflicts=["a1"])

    app = ProblemMiddleware(
        Starlette(
            routes=[Route("/c", conflict), Route("/crash", crash)], exception_handlers=starlette_exception_handlers()
        ),
        catalog=bundled,
    )
    exchange = call(app, path="/c")
    assert (exchange.status, exchange.json()["conflicts"], exchange.json()["instance"]) == (409, ["a1"], "/c")
    assert call(app, path="/crash").json()["code"] == "internal"
    # The app object run without the middleware that hooked it up (its test client): the whole problem.
    bare = call(app.app, path="/c")
    assert (bare.status, bare.headers["content-type"], bare.json()["conflicts"]) == (
        409,
        "application/problem+json",
        ["a1"],
    )
    # Handlers given by hand, and no middleware anywhere: still a complete (empty) response of the status.
    alone = Starlette(routes=[Route("/c", conflict)], exception_handlers=starlette_exception_handlers())
    forgotten = call(alone, path="/c")
    assert (forgotten.status, forgotten.body, [m["type"] for m in forgotten.messages]) == (
        409,
        b"",
        ["http.response.start", "http.response.body"],
    )
    not_allowed = call(alone, "POST", "/c")  # Starlette's HTTPException(405) keeps its Allow header
    assert (not_allowed.status, not_allowed.body) == (405, b"")
    assert set(not_allowed.headers["allow"].split(", ")) == {"GET", "HEAD"}  # Starlette's order varies
    # With the middleware, the same HTTPException is the catalog's problem, answered by the handler.
    problem = call(app, "POST", "/c")
    assert (problem.status, problem.json()["code"], problem.headers["allow"]) == (
        405,
        "method-not-allowed",
        "GET, HEAD",
    )


def test_handled_problems_pass_through_the_apps_own_middleware(bundled: Catalog) -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    from problemdetails import starlette_exception_handlers

    async def conflict(request: Request) -> Response:
        raise bundled["conflict"]("exists")

    async def echo_id(request: Request) -> Response:
        return PlainTextResponse(current_request_id() or "")

    app = ProblemMiddleware(
        Starlette(
            routes=[Route("/c", conflict), Route("/id", echo_id)],
            middleware=[Middleware(CORSMiddleware, allow_origins=["https://app.example"])],
            exception_handlers=starlette_exception_handlers(),
        ),
        catalog=bundled,
    )
    exchange = call(app, path="/c", headers={"Origin": "https://app.example", "Accept": "application/problem+xml"})
    assert (exchange.status, exchange.headers["content-type"]) == (409, "application/problem+xml")
    assert exchange.headers["access-control-allow-origin"] == "https://app.example"  # a browser may read it
    assert len(exchange.starts) == 1
    request_id = exchange.headers["x-request-id"]
    assert f"<request_id>{request_id}</request_id>" in exchange.body.decode()
    echoed = call(app, path="/id", headers={"X-Request-ID": "req-7"})
    assert (echoed.body, echoed.headers["x-request-id"]) == (b"req-7", "req-7")


def test_handled_problems_keep_every_representation(bundled: Catalog) -> None:
    """The handler's HTML page and legacy profile reach the client as sent, not as error pages to replace."""
    from problemdetails import EnvelopeProfile, starlette_exception_handlers

    async def quota(request: Request) -> Response:
        raise bundled["quota-exceeded"](limit=5, current=5, resource="zones")

    app = Starlette(routes=[Route("/q", quota)], exception_handlers=starlette_exception_handlers())
    page = call(ProblemMiddleware(app, catalog=bundled), path="/q", headers={"Accept": "text/html"})
    assert (page.status, page.headers["content-type"], len(page.starts)) == (402, "text/html; charset=utf-8", 1)
    assert '"detail":"5 of 5 zones used","instance":"/q"' in page.body.decode()
    legacy = call(ProblemMiddleware(app, catalog=bundled, profile=EnvelopeProfile()), path="/q")
    assert (legacy.status, legacy.headers["content-type"]) == (402, "application/json")
    assert legacy.json()["details"] == {"limit": 5, "current": 5, "resource": "zones"}


def test_handled_http_exceptions_that_are_no_errors_stay_as_they_are(bundled: Catalog) -> None:
    from problemdetails import starlette_exception_handlers

    async def unchanged(request: Request) -> Response:
        raise HTTPException(304, headers={"ETag": '"v1"'})

    app = ProblemMiddleware(
        Starlette(routes=[Route("/z", unchanged)], exception_handlers=starlette_exception_handlers()), catalog=bundled
    )
    for wrapped in (app, app.app):  # with and without the middleware outside
        exchange = call(wrapped, path="/z")
        assert (exchange.status, exchange.body, exchange.headers["etag"]) == (304, b"", '"v1"')
        assert "content-type" not in exchange.headers  # not a problem: RFC 9110 §15.4.5, no content


def test_unencodable_text_in_a_raised_problem_is_replaced(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(raising(bundled["gone"]("bad \ud800 text")), catalog=bundled))
    assert exchange.json()["detail"] == "bad \ufffd text"


def test_instance_is_configurable(bundled: Catalog) -> None:
    gone = raising(bundled["gone"]())
    assert "instance" not in call(ProblemMiddleware(gone, catalog=bundled, instance=None), path="/a").json()
    occurrence = ProblemMiddleware(gone, catalog=bundled, instance=lambda scope: f"urn:request:{scope['method']}")
    assert call(occurrence, path="/a").json()["instance"] == "urn:request:GET"
    own = raising(bundled["gone"](instance="/v1/zones/z1"))
    assert call(ProblemMiddleware(own, catalog=bundled), path="/a").json()["instance"] == "/v1/zones/z1"


def _nested_failure() -> None:
    values: dict[str, int] = {}
    try:
        values["missing"]
    except KeyError as error:
        raise ValueError("while looking it up") from error


def test_unhandled_tracebacks_are_logged_classically_with_exc_info(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """The text is what `traceback` prints without 3.11's carets; `exc_info` stays for integrations."""
    import re
    import traceback

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            _nested_failure()
        except ValueError:
            1 / 0  # noqa: B018

    with caplog.at_level(logging.ERROR, logger="problemdetails"):
        assert call(ProblemMiddleware(app, catalog=bundled)).status == 500
    (record,) = caplog.records
    assert record.exc_info is not None
    exc = record.exc_info[1]
    assert exc is not None
    full = "".join(traceback.format_exception(exc)).rstrip("\n")
    without_carets = "\n".join(line for line in full.split("\n") if not re.fullmatch(r"\s*[\^~]+\s*", line))
    assert record.exc_text == without_carets
    assert "The above exception was the direct cause" in record.exc_text
    assert "During handling of the above exception" in record.exc_text
    assert record.getMessage().startswith("500 internal: GET / request_id=")
    assert record.getMessage().endswith("(unhandled ZeroDivisionError)")
    assert record.funcName == "problem_for"


def test_request_ids_stay_unique_across_blocks_and_in_forked_workers() -> None:
    import os

    from problemdetails import _request_id

    ids = [_request_id.new_request_id() for _ in range(10_000)]  # more than two blocks of 4,096
    assert len(set(ids)) == len(ids)
    assert all(len(request_id) == 32 for request_id in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker forked from this process gets its own prefix
        os.write(write, _request_id.new_request_id())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64)
    os.close(read)
    os.close(write)
    assert len(child) == 32
    assert child[:16] != _request_id.new_request_id()[:16]


class _Once:
    """An iterable that can be read once, like the generator Sanic sends as `headers`."""

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers

    def __iter__(self) -> Any:
        headers, self.headers = self.headers, []
        return iter(headers)


HEADER_ITERABLES: dict[str, Callable[[list[tuple[bytes, bytes]]], Any]] = {
    "generator": lambda headers: (pair for pair in headers),
    "iterator": lambda headers: iter(headers),
    "read-once": _Once,
    "tuple": tuple,
    "map": lambda headers: map(tuple, headers),
}


def sending(status: int, headers: list[tuple[bytes, bytes]], body: bytes, kind: str) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        iterable = HEADER_ITERABLES[kind](headers)
        await send({"type": "http.response.start", "status": status, "headers": iterable})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize("kind", HEADER_ITERABLES)
def test_response_headers_of_any_iterable_survive_the_happy_path(bundled: Catalog, kind: str) -> None:
    headers = [(b"content-type", b"text/plain"), (b"set-cookie", b"session=1")]
    exchange = call(ProblemMiddleware(sending(200, headers, b"ok", kind), catalog=bundled))
    assert exchange.status == 200
    assert exchange.headers["content-type"] == "text/plain"
    assert exchange.headers["set-cookie"] == "session=1"
    assert exchange.headers["x-request-id"]


@pytest.mark.parametrize("kind", HEADER_ITERABLES)
def test_response_headers_of_any_iterable_survive_a_replaced_error_page(bundled: Catalog, kind: str) -> None:
    headers = [
        (b"content-type", b"text/plain"),
        (b"www-authenticate", b'Basic realm="api"'),
        (b"set-cookie", b"session=; Max-Age=0"),
    ]
    exchange = call(ProblemMiddleware(sending(401, headers, b"log in first", kind), catalog=bundled))
    assert (exchange.status, exchange.json()["code"]) == (401, "unauthorized")
    assert exchange.headers["www-authenticate"] == 'Basic realm="api"'  # not replaced by the default Bearer
    assert exchange.headers["set-cookie"] == "session=; Max-Age=0"
    assert exchange.json()["detail"] == "log in first"


@pytest.mark.parametrize("kind", HEADER_ITERABLES)
def test_a_problem_the_app_sent_with_headers_of_any_iterable_passes(bundled: Catalog, kind: str) -> None:
    body = b'{"type":"about:blank","status":409,"title":"Conflict"}'
    headers = [(b"content-type", b"application/problem+json"), (b"x-app", b"kept")]
    exchange = call(ProblemMiddleware(sending(409, headers, body, kind), catalog=bundled))
    assert (exchange.status, exchange.body) == (409, body)
    assert exchange.headers["content-type"] == "application/problem+json"
    assert exchange.headers["x-app"] == "kept"
    assert exchange.headers["x-request-id"]


def rendering(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def test_a_gzipped_error_page_keeps_its_message(bundled: Catalog) -> None:
    """FastAPI's documented GZipMiddleware inside the app: the page's message, never its gzip bytes."""
    from fastapi import FastAPI
    from fastapi.middleware.gzip import GZipMiddleware

    api = FastAPI()
    api.add_middleware(GZipMiddleware, minimum_size=1)

    @api.get("/text")
    async def text() -> Response:
        return PlainTextResponse("the order was cancelled " * 20, status_code=410)

    @api.get("/json")
    async def json_page() -> Response:
        return JSONResponse({"detail": "no zone named z1 in this account"}, status_code=404)

    @api.get("/raised")
    async def raised() -> None:
        raise HTTPException(404, "no zone named z2")

    app = ProblemMiddleware(api, catalog=bundled)
    gzip = {"accept-encoding": "gzip"}
    gone = call(app, path="/text", headers=gzip)  # rendered, compressed, held and replaced
    assert (gone.status, gone.json()["detail"]) == (410, "the order was cancelled " * 20)
    assert "content-encoding" not in gone.headers
    found = call(app, path="/json", headers=gzip)
    assert (found.status, found.json()["detail"]) == (404, "no zone named z1 in this account")
    # Answered through the app's own response machinery: its GZipMiddleware compresses the problem.
    answered = call(app, path="/raised", headers=gzip)
    assert (answered.headers["content-encoding"], answered.headers["content-length"]) == (
        "gzip",
        str(len(answered.body)),
    )
    assert json.loads(zlib.decompress(answered.body, 31))["detail"] == "no zone named z2"


def _deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(wbits=wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body", "detail"),
    [
        (b"gzip", _deflate(b"no such order", 31), "no such order"),
        (b"x-gzip", _deflate(b"no such order", 31), "no such order"),
        (b"deflate", _deflate(b"no such order", 15), "no such order"),
        (b"deflate", _deflate(b"no such order", -15), "no such order"),  # raw deflate, as some servers send it
        (b"gzip, identity", _deflate(b"no such order", 31), "no such order"),
        (b"deflate, gzip", _deflate(_deflate(b"no such order", 15), 31), "no such order"),  # undone last first
        (b"br", b"\x1b\x0c\x00\xf8\xa5\x86\xd2\x02", None),  # an encoding it does not read: no message
        (b"gzip", b"\x1f\x8b not gzip at all", None),
        (b"gzip", _deflate(b"x" * 10_000_000, 31), None),  # expands past the bound: no message, no memory
    ],
)
def test_an_encoded_error_page_is_read_decoded_or_not_at_all(
    bundled: Catalog, encoding: bytes, body: bytes, detail: str | None
) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-encoding", encoding)]
    exchange = call(ProblemMiddleware(rendering(404, headers, body), catalog=bundled))
    assert (exchange.status, exchange.json().get("detail")) == (404, detail)
    assert "content-encoding" not in exchange.headers


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"no such order", "no such order"),
        (b"fish &amp; chips", "fish & chips"),  # declared HTML: its entities mean what HTML says
        (b"<h1>Not Found</h1><p>no such order</p>", None),  # a page is never read
        (b"x" * 5000, None),  # a long body is a page, not a message
    ],
)
def test_a_short_text_html_body_without_markup_is_a_message(bundled: Catalog, body: bytes, detail: str | None) -> None:
    """Flask's and Quart's `return "no such order", 404` is sent as text/html."""
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    exchange = call(ProblemMiddleware(rendering(404, headers, body), catalog=bundled))
    assert (exchange.status, exchange.json().get("detail")) == (404, detail)


@pytest.mark.parametrize("exc", [RuntimeError(SECRET), Problem("taken", status=409)], ids=["crash", "problem"])
def test_a_guard_outside_a_middleware_decides_nothing_twice(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, exc: Exception
) -> None:
    """Outermost as a guard around an app with a middleware inside: one id, one answer, one record."""
    caplog.set_level(logging.INFO, logger="problemdetails")
    app = ProblemMiddleware(ProblemMiddleware(raising(exc), catalog=bundled), catalog=bundled)
    exchange = call(app, headers={"X-Request-ID": "req-guarded-1"})
    assert exchange.json()["request_id"] == exchange.headers["x-request-id"] == "req-guarded-1"
    assert len(caplog.records) == 1
    seen: list[str | None] = []

    def between(app: Any) -> Any:  # the app's own middleware, between the guard and the inner layer
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(current_request_id())
            await app(scope, receive, send)

        return middleware

    guarded = ProblemMiddleware(between(ProblemMiddleware(raising(exc), catalog=bundled)), catalog=bundled)
    drawn = call(guarded)  # a drawn id: the inner layer keeps the one the guard drew
    assert seen == [drawn.json()["request_id"]] == [drawn.headers["x-request-id"]]


def test_a_wsgi_guard_outside_a_middleware_keeps_one_id(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    from tests.wsgi import serve

    caplog.set_level(logging.INFO, logger="problemdetails")

    def crashing(environ: Any, start_response: Any) -> Any:
        raise RuntimeError(SECRET)

    seen: list[str | None] = []

    def between(environ: Any, start_response: Any) -> Any:
        seen.append(current_request_id())
        return inner(environ, start_response)

    inner = WSGIProblemMiddleware(crashing, catalog=bundled)
    served = serve(WSGIProblemMiddleware(between, catalog=bundled))
    assert seen == [served.json()["request_id"]] == [served.headers["x-request-id"]]
    assert len(caplog.records) == 1


def test_an_error_response_leaves_no_reference_cycle(bundled: Catalog) -> None:
    # The exchange holds the request's facts (which hold the scope, which holds the exchange) and the
    # problem (whose traceback holds frames that hold the scope): released when the request is done,
    # so that errors do not set off the garbage collector (`make bench-instructions` counted ~5k each).
    # With the collector off, each request's exchange must be freed by its last reference going.
    exchanges: list[weakref.ref[Any]] = []

    async def conflict(request: Request) -> Response:
        exchanges.append(weakref.ref(request.scope[EXCHANGE]))
        raise bundled["conflict"]("taken")

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        exchanges.append(weakref.ref(scope[EXCHANGE]))
        raise bundled["conflict"]("taken")

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message["type"])

    installed = install(Starlette(routes=[Route("/", conflict)]), catalog=bundled)
    gc.disable()
    try:
        for app in (installed, ProblemMiddleware(installed, catalog=bundled), ProblemMiddleware(raw, catalog=bundled)):
            sent: list[str] = []
            with contextlib.suppress(StopIteration):  # driven by hand: the app awaits nothing that suspends
                app(request_scope(), receive, send).send(None)  # a coroutine
            assert sent == ["http.response.start", "http.response.body"]
        assert len(exchanges) == 3
        assert [ref() for ref in exchanges] == [None, None, None]
    finally:
        gc.enable()
