"""Starlette and FastAPI with problem details installed inside the app object (`_handovers/starlette.py`).

`problemdetails.install(app, ...)` and Starlette's own convention,
`app.add_middleware(ProblemMiddleware, ...)`, put the middleware inside the
app's stack, so what runs the app object (`TestClient(app)`, uvicorn as
`fastapi run` serves it) answers with problems. The contract under real
servers is `tests/acceptance/test_frameworks.py`; these run the framework's
own test client, one dev server, debug mode and the cases of installing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient

import problemdetails
from problemdetails import Catalog, ProblemMiddleware
from problemdetails._handovers.starlette import _Crashes
from tests.conftest import problem, serve_with_uvicorn, served_records

SECRET = "password=hunter2"


class Refused(Exception):
    """An exception the app answers with a handler of its own, registered before installing."""


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def conflict(request: Request) -> Response:
    raise request.app.state.catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])


async def crash(request: Request) -> Response:
    raise RuntimeError(SECRET)


async def http_error(request: Request) -> Response:
    raise HTTPException(429, headers={"Retry-After": "7"})


async def text_error(request: Request) -> Response:
    return PlainTextResponse("Order 7 does not exist.", status_code=404)


async def refused(request: Request) -> Response:
    raise Refused


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 10
        raise RuntimeError("the disk went away")

    return StreamingResponse(chunks())


ROUTES: list[BaseRoute] = [
    Route("/ok", ok),
    Route("/conflict", conflict, methods=["GET", "HEAD"]),
    Route("/crash", crash),
    Route("/http-error", http_error),
    Route("/text-error", text_error),
    Route("/refused", refused),
    Route("/stream", stream),
]


def build(framework: str, catalog: Catalog, **options: Any) -> tuple[Starlette, list[str]]:
    """The app (its routes, and a handler of its own for `Refused`), and the list that handler writes to."""
    ran: list[str] = []

    async def answer_refused(request: Request, exc: Exception) -> Response:
        ran.append(request.url.path)
        return PlainTextResponse("Refused by policy.", status_code=403)

    handlers: dict[Any, Any] = {Refused: answer_refused}
    app = (
        Starlette(routes=ROUTES, exception_handlers=handlers, **options)
        if framework == "starlette"
        else FastAPI(routes=ROUTES, exception_handlers=handlers, **options)
    )
    app.state.catalog = catalog
    return app, ran


def by_install(app: Starlette, catalog: Catalog, **options: Any) -> Starlette:
    return problemdetails.install(app, catalog=catalog, **options)


def by_convention(app: Starlette, catalog: Catalog, **options: Any) -> Starlette:
    app.add_middleware(ProblemMiddleware, catalog=catalog, **options)
    return app


WAYS: dict[str, Callable[..., Starlette]] = {"install": by_install, "add_middleware": by_convention}


@pytest.fixture(params=[(fw, way) for fw in ("starlette", "fastapi") for way in WAYS], ids=lambda p: "-".join(p))
def installed(request: pytest.FixtureRequest, bundled: Catalog) -> Iterator[tuple[TestClient, list[str]]]:
    """The framework's own test client on the app object, problem details installed inside it one way or the other."""
    framework, way = request.param
    app, ran = build(framework, bundled)
    assert WAYS[way](app, bundled) is app
    with TestClient(app) as client:  # raises what escapes the app: nothing may
        yield client, ran


def test_a_raised_problem_through_the_apps_own_test_client(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    response = client.get("/conflict", headers={"X-Request-ID": "req-install-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-install-1", ["a1"], "/conflict")


def test_a_crash_is_the_500_problem_logged_once(
    installed: tuple[TestClient, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = installed
    caplog.set_level(logging.INFO)
    response = client.get("/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    assert b"RuntimeError" not in response.content
    # One record, ours, with the traceback; neither Starlette nor the server logged it again.
    (record,) = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


def test_the_router_404_and_405_with_allow(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    problem(client.get("/nope"), 404, "not-found")
    refused = client.post("/conflict")
    problem(refused, 405, "method-not-allowed")
    assert refused.headers["allow"] == "GET, HEAD"


def test_the_frameworks_http_error_keeps_its_headers(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    response = client.get("/http-error")
    problem(response, 429, "rate-limited")
    assert response.headers["retry-after"] == "7"


def test_a_text_error_page_is_rewritten_keeping_its_message(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    body = problem(client.get("/text-error"), 404, "not-found")
    assert body["detail"] == "Order 7 does not exist."


def test_head_gets_the_headers_and_no_body(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    head, get = client.head("/conflict"), client.get("/conflict")
    assert (head.status_code, head.content, head.headers["content-type"]) == (409, b"", "application/problem+json")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    xml = client.get("/conflict", headers={"Accept": "application/problem+xml"})
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = client.get("/conflict", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")
    assert '<script type="application/problem+json">' in page.text


def test_the_happy_path_only_gains_a_request_id(installed: tuple[TestClient, list[str]]) -> None:
    client, _ = installed
    given = client.get("/ok", headers={"X-Request-ID": "req-install-2"})
    assert (given.status_code, given.json(), given.headers["x-request-id"]) == (200, {"ok": True}, "req-install-2")
    assert re.fullmatch("[0-9a-f]{32}", client.get("/ok").headers["x-request-id"])


def test_a_handler_the_app_registered_before_still_runs(installed: tuple[TestClient, list[str]]) -> None:
    client, ran = installed
    body = problem(client.get("/refused"), 403, "forbidden")
    assert ran == ["/refused"]
    assert body["detail"] == "Refused by policy."  # its text page, rewritten like any other


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("first", list(WAYS))
def test_install_refuses_an_app_that_has_it_already(bundled: Catalog, framework: str, first: str) -> None:
    app, _ = build(framework, bundled)
    WAYS[first](app, bundled)
    with pytest.raises(RuntimeError, match=f"installed in this {type(app).__name__} already"):
        problemdetails.install(app, catalog=bundled)
    assert len(app.user_middleware) == 1
    assert problem(TestClient(app).get("/conflict"), 409, "conflict")


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_added_twice_the_outer_one_is_a_guard(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, framework: str
) -> None:
    """Starlette's `add_middleware` cannot refuse: a second one is a layer outside the first, deciding nothing."""
    app, _ = build(framework, bundled)
    by_convention(by_convention(app, bundled), bundled)
    caplog.set_level(logging.INFO, logger="problemdetails")
    response = TestClient(app).get("/conflict", headers={"X-Request-ID": "req-twice-1"})
    assert problem(response, 409, "conflict")["request_id"] == "req-twice-1"
    assert ids_logged(caplog) == ["req-twice-1"]


def ids_logged(caplog: pytest.LogCaptureFixture) -> list[object]:
    """The request ids of this library's records (other loggers, httpx's among them, may log too)."""
    return [getattr(record, "request_id", None) for record in caplog.records if record.name == "problemdetails"]


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("way", list(WAYS))
def test_installed_and_wrapped_decides_and_logs_each_request_once(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, framework: str, way: str
) -> None:
    app, _ = build(framework, bundled)
    guarded = ProblemMiddleware(WAYS[way](app, bundled), catalog=bundled)
    caplog.set_level(logging.INFO, logger="problemdetails")
    client = TestClient(guarded)
    for path, status, code in [
        ("/conflict", 409, "conflict"),
        ("/crash", 500, "internal"),
        ("/nope", 404, "not-found"),
    ]:
        caplog.clear()
        response = client.get(path, headers={"X-Request-ID": f"req-guard-{status}"})
        assert problem(response, status, code)["request_id"] == f"req-guard-{status}"
        assert ids_logged(caplog) == [f"req-guard-{status}"]
    # The app object alone still gives the whole behaviour.
    assert problem(TestClient(app).get("/conflict"), 409, "conflict")


@pytest.mark.parametrize("guarded", [False, True], ids=["alone", "guarded"])
@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("way", list(WAYS))
def test_debug_a_browser_gets_the_frameworks_debug_page(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, framework: str, way: str, guarded: bool
) -> None:
    """Also with a `ProblemMiddleware` guard outside the app: the page is the answer, not replaced."""
    app, _ = build(framework, bundled, debug=True)
    served = WAYS[way](app, bundled)
    client = TestClient(ProblemMiddleware(served, catalog=bundled) if guarded else served)
    caplog.set_level(logging.INFO)
    page = client.get("/crash", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert "<title>Starlette Debugger</title>" in page.text
    assert SECRET in page.text  # the developer's own traceback, as the framework shows it
    assert page.headers["x-request-id"]
    (record,) = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert (record.name, record.request_id) == ("problemdetails", page.headers["x-request-id"])  # type: ignore[attr-defined]
    # An API client still gets the problem, and nothing of the exception.
    api = client.get("/crash")
    assert problem(api, 500, "internal")
    assert SECRET.encode() not in api.content
    # Problems are no crashes: a browser gets their HTML page.
    assert client.get("/conflict", headers={"Accept": "text/html"}).status_code == 409
    # A stream failing mid-body is no page's to answer: aborted, the exception as it was.
    with pytest.raises(RuntimeError, match="the disk went away"):
        client.get("/stream", headers={"Accept": "text/html"})


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_an_app_wrapped_from_outside_answers_problems_without_the_wrapper(bundled: Catalog, framework: str) -> None:
    """`TestClient(api)` on the app a module wraps (`app = ProblemMiddleware(api)`): no empty 409."""
    app, _ = build(framework, bundled)
    wrapped = ProblemMiddleware(app, catalog=bundled)
    for client in (TestClient(app), TestClient(wrapped)):
        response = client.get("/conflict", headers={"X-Request-ID": "req-outside-1"})
        assert problem(response, 409, "conflict")["request_id"] == "req-outside-1"
        problem(client.get("/nope"), 404, "not-found")
        refused = client.post("/conflict")
        assert (problem(refused, 405, "method-not-allowed"), refused.headers["allow"]) == (refused.json(), "GET, HEAD")
    # The id is drawn when the client sent none.
    assert re.fullmatch("[0-9a-f]{32}", TestClient(app).get("/conflict").headers["x-request-id"])


def test_install_takes_only_an_app_object(bundled: Catalog) -> None:
    app, _ = build("starlette", bundled)
    with pytest.raises(TypeError, match="application object"):
        problemdetails.install(ProblemMiddleware(app, catalog=bundled), catalog=bundled)


@pytest.mark.parametrize("target", ["fastapi_app:installed_app", "starlette_app:conventional_app"])
def test_the_dev_server_serves_the_app_object(target: str) -> None:
    """uvicorn serving the app object, as `fastapi run` and `uvicorn module:app` do."""

    def check(base: str) -> None:
        response = httpx.get(base + "/conflict", headers={"X-Request-ID": "req-dev-1"}, timeout=10)
        assert problem(response, 409, "conflict")["conflicts"] == ["a1"]
        crashed = httpx.get(base + "/crash", timeout=10)
        problem(crashed, 500, "internal")
        assert b"hunter2" not in crashed.content
        refused = httpx.post(base + "/conflict", timeout=10)
        problem(refused, 405, "method-not-allowed")
        assert "GET" in [method.strip() for method in refused.headers["allow"].split(",")]

    log = serve_with_uvicorn(f"examples.frameworks.{target}", check)
    assert "hunter2" in log  # the operator sees the crash, once
    assert log.count("Traceback") == 1, log


# -- the app's own handler for crashes (`Exception` or 500)


def crash_handler(status: int, body: bytes, media_type: str, ran: list[str]) -> Callable[..., Any]:
    """A catch-all handler of the app's answering a crash with `body` as `media_type` and `status`."""

    async def answer_crash(request: Request, exc: Exception) -> Response:
        ran.append(type(exc).__name__)
        return Response(body, status_code=status, media_type=media_type, headers={"X-Handled-By": "the app"})

    return answer_crash


PROBLEM_BODY = b'{"type":"about:blank","title":"Locked","status":423,"detail":"Zone example.com is locked."}'

HANDLER_CASES = [
    # status, body, media type: what the app's handler answers a crash with; then the status and code sent
    # and the detail: a problem as is, a 4xx page rewritten keeping its message, a 5xx page replaced by the 500.
    (423, PROBLEM_BODY, "application/problem+json", 423, None, "Zone example.com is locked."),
    (400, b"Refused: the zone is locked.", "text/plain", 400, "bad-request", "Refused: the zone is locked."),
    (500, b"Something broke: " + SECRET.encode(), "text/plain", 500, "internal", None),
    (503, b"<h1>Down for maintenance</h1>", "text/html", 503, "unavailable", None),  # a rendered page's status
]


@pytest.mark.parametrize(
    ("status", "body", "media_type", "sent", "code", "detail"), HANDLER_CASES, ids=["problem", "4xx", "500", "503"]
)
@pytest.mark.parametrize("key", [Exception, 500], ids=["Exception", "500"])
@pytest.mark.parametrize("way", [*WAYS, "wrapped"])
@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_the_apps_crash_handler_runs_and_the_crash_is_logged_once(
    bundled: Catalog,
    caplog: pytest.LogCaptureFixture,
    framework: str,
    way: str,
    key: object,
    status: int,
    body: bytes,
    media_type: str,
    sent: int,
    code: str | None,
    detail: str | None,
) -> None:
    app, _ = build(framework, bundled)
    ran: list[str] = []
    app.add_exception_handler(key, crash_handler(status, body, media_type, ran))  # type: ignore[arg-type]
    served = ProblemMiddleware(app, catalog=bundled) if way == "wrapped" else WAYS[way](app, bundled)
    caplog.set_level(logging.INFO)
    client = TestClient(served)
    for attempt in range(2):  # the second request too: nothing is decided once for good on the first
        caplog.clear()
        ran.clear()
        response = client.get("/crash", headers={"X-Request-ID": f"req-handler-{attempt}"})
        assert ran == ["RuntimeError"]
        assert (response.status_code, response.headers["x-request-id"]) == (sent, f"req-handler-{attempt}")
        assert response.headers["x-handled-by"] == "the app"  # its other headers survive
        if code is None:  # a problem already: sent as is
            assert (response.headers["content-type"], response.content) == (media_type, body)
        else:
            got = problem(response, sent, code)
            assert got.get("detail") == detail
            assert SECRET.encode() not in response.content
        # One record, with the crash's traceback, and nothing from Starlette or the server.
        (record,) = [record for record in caplog.records if record.name == "problemdetails"]
        assert record.request_id == f"req-handler-{attempt}"  # type: ignore[attr-defined]
        assert [record for record in caplog.records if record.levelno >= logging.WARNING] in ([], [record])
        assert record.exc_info is not None
        assert SECRET in str(record.exc_info[1])
    # Everything else is as it was: problems, the app's other handlers, the happy path.
    assert problem(client.get("/conflict"), 409, "conflict")
    assert client.get("/ok").json() == {"ok": True}
    assert ran == ["RuntimeError"]


@pytest.mark.parametrize("way", list(WAYS))
def test_debug_a_browser_still_gets_the_debug_page_over_the_apps_crash_handler(bundled: Catalog, way: str) -> None:
    app, _ = build("starlette", bundled, debug=True)
    ran: list[str] = []
    app.add_exception_handler(Exception, crash_handler(400, b"Refused.", "text/plain", ran))
    client = TestClient(WAYS[way](app, bundled))
    page = client.get("/crash", headers={"Accept": "text/html"})
    assert "<title>Starlette Debugger</title>" in page.text
    assert ran == []
    assert problem(client.get("/crash"), 400, "bad-request")["detail"] == "Refused."
    assert ran == ["RuntimeError"]
    # A stream failing mid-body is no handler's to answer: aborted, the exception as it was.
    with pytest.raises(RuntimeError, match="the disk went away"):
        client.get("/stream")


@pytest.mark.parametrize("handled", [False, True])
def test_the_crash_layer_leaves_an_app_without_a_crash_handler(bundled: Catalog, handled: bool) -> None:
    """No crash handler and no debug: after the first request nothing of it is left on the happy path."""
    app, _ = build("starlette", bundled)
    if handled:
        app.add_exception_handler(500, crash_handler(500, b"", "text/plain", []))
    client = TestClient(problemdetails.install(app, catalog=bundled))
    assert client.get("/ok").status_code == 200  # the stack is built, the layer put in, and read
    assert isinstance(app.router.middleware_stack, _Crashes) is handled
    problem(client.get("/crash"), 500, "internal")


def test_a_synchronous_crash_handler_runs_too(bundled: Catalog) -> None:
    app, _ = build("fastapi", bundled)
    ran: list[str] = []

    def answer_crash(request: Request, exc: Exception) -> Response:
        ran.append(type(exc).__name__)
        return PlainTextResponse("Not now.", status_code=409)

    app.add_exception_handler(Exception, answer_crash)
    assert (
        problem(TestClient(problemdetails.install(app, catalog=bundled)).get("/crash"), 409, "conflict")["detail"]
        == "Not now."
    )
    assert ran == ["RuntimeError"]


def test_a_crash_handler_answering_with_no_error_is_sent_and_the_crash_logged(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """No problem of status 200 is decided, counted or logged: the crash is one ERROR record, the 200 sent as is."""
    app, _ = build("starlette", bundled)
    app.add_exception_handler(Exception, crash_handler(200, b"fine anyway", "text/plain", []))
    caplog.set_level(logging.INFO, logger="problemdetails")
    response = TestClient(problemdetails.install(app, catalog=bundled)).get("/crash")
    assert (response.status_code, response.content) == (200, b"fine anyway")
    (record,) = served_records(caplog)
    assert record.levelno == logging.ERROR
    assert f"request_id={response.headers['x-request-id']}" in record.getMessage()
    assert record.exc_info is not None
    assert "problem_status" not in record.__dict__


class Line(BaseModel):
    qty: int = Field(ge=1)
    sku: str = Field(pattern=r"^[A-Z]{3}$")


class Order(BaseModel):  # at module level: FastAPI resolves the view's annotations in the module's namespace
    reference: str = Field(min_length=3)
    lines: list[Line]
    tags: list[str] = Field(max_length=1)


def test_fastapi_validation_items_keep_pydantics_ctx_as_params_and_come_translated(bundled: Catalog) -> None:
    """pydantic's `type` is the item's code and its `ctx` the `params`, which fill the translation's message."""
    api = FastAPI()

    @api.post("/orders")
    async def order(body: Order) -> dict[str, bool]:
        return {"ok": True}

    problemdetails.install(api, catalog=bundled)
    sent = {"reference": "ab", "lines": [{"qty": 0, "sku": "abc"}], "tags": ["a", "b"]}
    with TestClient(api) as client:
        english = client.post("/orders", json=sent).json()["errors"]
        german = client.post("/orders", json=sent, headers={"Accept-Language": "de-AT"})
    assert german.headers["content-language"] == "de"
    items = [(item["pointer"], item["code"], item["params"], item["detail"]) for item in german.json()["errors"]]
    assert items == [
        ("#/reference", "string_too_short", {"min_length": 3}, "Mindestens 3 Zeichen."),
        ("#/lines/0/qty", "greater_than_equal", {"ge": 1}, "Muss größer oder gleich 1 sein."),
        (
            "#/lines/0/sku",
            "string_pattern_mismatch",
            {"pattern": "^[A-Z]{3}$"},
            "Muss dem Muster ^[A-Z]{3}$ entsprechen.",
        ),
        (
            "#/tags",
            "too_long",
            {"field_type": "List", "max_length": 1, "actual_length": 2},
            "Anzahl der Einträge: höchstens 1.",
        ),
    ]
    assert english[0]["detail"] == "String should have at least 3 characters"  # the default language: pydantic's own
    assert [item["params"] for item in english] == [item[2] for item in items]
