"""Litestar with problem details installed inside the app object (`_handovers/litestar.py`).

`problemdetails.install(app, ...)` and Litestar's own convention,
`Litestar(..., plugins=[ProblemDetailsPlugin(catalog=...)])`, put the request
layer inside the app, so what runs the app object (`TestClient(app)`, uvicorn
as `litestar run` serves it) answers with problems. The contract under real
servers is `tests/acceptance/test_frameworks.py`; these run the framework's
own test client, one dev server, debug mode and the cases of installing.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import httpx
import msgspec
import pytest
from litestar import Controller, Litestar, MediaType, Request, Response, Router, get, route
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.testing import TestClient
from msgspec import Meta

import problemdetails
from problemdetails import Catalog, ProblemMiddleware
from problemdetails._handovers.litestar import litestar_error_items
from problemdetails.litestar import ProblemDetailsPlugin
from tests.conftest import problem, serve_with_uvicorn

SECRET = "password=hunter2"


class Refused(Exception):
    """An exception the app answers with a handler of its own, registered before installing."""


@get("/ok")
async def ok() -> dict[str, str | None]:
    return {"request_id": problemdetails.current_request_id()}


@route("/conflict", http_method=["GET", "HEAD"])
async def conflict(request: Request[Any, Any, Any]) -> None:
    raise request.app.state.catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])


@get("/crash")
async def crash() -> None:
    raise RuntimeError(SECRET)


@get("/http-error")
async def http_error() -> None:
    raise HTTPException(status_code=429, headers={"Retry-After": "7"})


@get("/text-error")
async def text_error() -> Response[str]:
    return Response("Order 7 does not exist.", status_code=404, media_type=MediaType.TEXT)


@get("/refused")
async def refused() -> None:
    raise Refused


ROUTES = [ok, conflict, crash, http_error, text_error, refused]


def build(catalog: Catalog, **options: Any) -> tuple[dict[str, Any], list[str]]:
    """The app's arguments (its routes, a handler of its own for `Refused`), and the list that handler writes to."""
    ran: list[str] = []

    def answer_refused(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
        ran.append(request.url.path)
        return Response("Refused by policy.", status_code=403, media_type=MediaType.TEXT)

    handlers: dict[Any, Any] = {Refused: answer_refused, **options.pop("exception_handlers", {})}
    return {
        "route_handlers": ROUTES,
        "exception_handlers": handlers,
        "state": State({"catalog": catalog}),
        **options,
    }, ran


def by_install(arguments: dict[str, Any], catalog: Catalog, **options: Any) -> Litestar:
    app = Litestar(**arguments)
    assert problemdetails.install(app, catalog=catalog, **options) is app
    return app


def by_plugin(arguments: dict[str, Any], catalog: Catalog, **options: Any) -> Litestar:
    plugins = [*arguments.pop("plugins", []), ProblemDetailsPlugin(catalog=catalog, **options)]
    return Litestar(**arguments, plugins=plugins)


WAYS: dict[str, Callable[..., Litestar]] = {"install": by_install, "plugin": by_plugin}


@pytest.fixture(params=list(WAYS))
def installed(request: pytest.FixtureRequest, bundled: Catalog) -> Iterator[tuple[TestClient[Litestar], list[str]]]:
    """Litestar's own test client on the app object, problem details installed inside it one way or the other."""
    arguments, ran = build(bundled)
    with TestClient(WAYS[request.param](arguments, bundled)) as client:  # raises what escapes the app: nothing may
        yield client, ran


Client = tuple[TestClient[Litestar], list[str]]


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], Callable[[], list[logging.LogRecord]]]]:
    """Every record from here on (call it once the app is built), ours and Litestar's own logger's.

    Building a Litestar app configures logging (the root's handlers, and a
    `litestar` logger that does not propagate), which takes pytest's handler off.
    """
    watched = [logging.getLogger(), logging.getLogger("litestar")]

    def read() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name != "httpx"]

    def watch() -> Callable[[], list[logging.LogRecord]]:
        for logger in watched:
            logger.addHandler(caplog.handler)
        caplog.set_level(logging.INFO)
        return read

    yield watch
    for logger in watched:
        logger.removeHandler(caplog.handler)


def test_a_raised_problem_through_the_apps_own_test_client(installed: Client) -> None:
    client, _ = installed
    response = client.get("/conflict", headers={"X-Request-ID": "req-install-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-install-1", ["a1"], "/conflict")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("way", list(WAYS))
def test_a_crash_is_the_500_problem_logged_once(
    bundled: Catalog, records: Callable[[], Callable[[], list[logging.LogRecord]]], way: str, debug: bool
) -> None:
    # With debug on, Litestar logs every exception it catches ("Uncaught exception"): not these.
    client = TestClient(WAYS[way](build(bundled, debug=debug)[0], bundled))
    logs = records()
    response = client.get("/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    assert b"RuntimeError" not in response.content
    (record,) = [record for record in logs() if record.levelno >= logging.WARNING]
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])
    problem(client.get("/conflict"), 409, "conflict")
    problem(client.get("/nope"), 404, "not-found")
    assert [record.name for record in logs()] == ["problemdetails"] * 3


def test_the_router_404_and_405_with_allow(installed: Client) -> None:
    client, _ = installed
    problem(client.get("/nope"), 404, "not-found")
    refused = client.post("/conflict")
    problem(refused, 405, "method-not-allowed")
    assert sorted(method.strip() for method in refused.headers["allow"].split(",")) == ["GET", "HEAD", "OPTIONS"]


def test_the_frameworks_http_error_keeps_its_headers(installed: Client) -> None:
    client, _ = installed
    response = client.get("/http-error")
    problem(response, 429, "rate-limited")
    assert response.headers["retry-after"] == "7"


def test_a_text_error_page_is_rewritten_keeping_its_message(installed: Client) -> None:
    client, _ = installed
    body = problem(client.get("/text-error"), 404, "not-found")
    assert body["detail"] == "Order 7 does not exist."


def test_head_gets_the_headers_and_no_body(installed: Client) -> None:
    client, _ = installed
    head, get = client.head("/conflict"), client.get("/conflict")
    assert (head.status_code, head.content, head.headers["content-type"]) == (409, b"", "application/problem+json")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(installed: Client) -> None:
    client, _ = installed
    xml = client.get("/conflict", headers={"Accept": "application/problem+xml"})
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = client.get("/conflict", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")
    assert '<script type="application/problem+json">' in page.text


def test_the_happy_path_only_gains_a_request_id(installed: Client) -> None:
    client, _ = installed
    given = client.get("/ok", headers={"X-Request-ID": "req-install-2"})
    assert (given.status_code, given.headers["x-request-id"]) == (200, "req-install-2")
    assert given.json() == {"request_id": "req-install-2"}  # `current_request_id()` inside the handler
    assert re.fullmatch("[0-9a-f]{32}", client.get("/ok").headers["x-request-id"])


def test_a_handler_the_app_registered_before_still_runs(installed: Client) -> None:
    client, ran = installed
    body = problem(client.get("/refused"), 403, "forbidden")
    assert ran == ["/refused"]
    assert body["detail"] == "Refused by policy."  # its text page, rewritten like any other


@pytest.mark.parametrize("way", list(WAYS))
def test_an_exception_handler_of_the_apps_is_chained_to(
    bundled: Catalog, records: Callable[[], Callable[[], list[logging.LogRecord]]], way: str
) -> None:
    """The app's catch-all still runs for every crash, which is still logged once, by the layer."""
    seen: list[str] = []

    def catch_all(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
        seen.append(type(exc).__name__)
        return Response("Something broke.", status_code=500, media_type=MediaType.TEXT)

    arguments, _ = build(bundled, exception_handlers={Exception: catch_all})
    client = TestClient(WAYS[way](arguments, bundled))
    logs = records()
    body = problem(client.get("/crash"), 500, "internal")
    assert seen == ["RuntimeError"]
    (record,) = [record for record in logs() if record.levelno >= logging.WARNING]
    assert (record.request_id, record.exc_info is not None) == (body["request_id"], True)  # type: ignore[attr-defined]
    # A raised problem and a mapped exception stay the layer's; the catch-all never saw them.
    problem(client.get("/conflict"), 409, "conflict")
    assert seen == ["RuntimeError"]


@pytest.mark.parametrize("way", list(WAYS))
def test_a_routers_and_a_controllers_catch_all_are_chained_to(
    bundled: Catalog, records: Callable[[], Callable[[], list[logging.LogRecord]]], way: str
) -> None:
    """Litestar picks the nearest layer: a router's `Exception` handler, a controller's `500`: chained, for crashes."""
    seen: list[str] = []

    def catch_all(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
        seen.append(f"{request.url.path} {type(exc).__name__}")
        return Response("Something broke.", status_code=500, media_type=MediaType.TEXT)

    class Zones(Controller):
        path = "/zones"
        exception_handlers = {500: catch_all}  # noqa: RUF012 (Litestar's own class attribute)

        @get("/crash")
        async def crash(self) -> None:
            raise RuntimeError(SECRET)

        @get("/conflict")
        async def conflict(self, request: Request[Any, Any, Any]) -> None:
            raise request.app.state.catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    router = Router("/v1", route_handlers=[crash, http_error, Zones], exception_handlers={Exception: catch_all})
    arguments, _ = build(bundled)
    arguments["route_handlers"] = [*ROUTES, router]
    client = TestClient(WAYS[way](arguments, bundled))
    logs = records()
    for path in ["/v1/crash", "/v1/zones/crash"]:
        body = problem(client.get(path), 500, "internal")
        assert SECRET not in json.dumps(body)
    assert seen == ["/v1/crash RuntimeError", "/v1/zones/crash RuntimeError"]
    crashes = [record for record in logs() if record.levelno >= logging.WARNING]
    assert [(record.name, record.exc_info is not None) for record in crashes] == [("problemdetails", True)] * 2
    # The layer's own answers never reach the catch-alls: a problem, a framework HTTP error.
    assert problem(client.get("/v1/zones/conflict"), 409, "conflict")["conflicts"] == ["a1"]
    assert client.get("/v1/http-error").headers["retry-after"] == "7"
    assert len(seen) == 2


@pytest.mark.parametrize(("first", "second"), [("install", "install"), ("plugin", "install"), ("plugin", "plugin")])
def test_installing_twice_is_refused(bundled: Catalog, first: str, second: str) -> None:
    arguments, _ = build(bundled)
    if second == "plugin":  # the plugin listed twice
        with pytest.raises(RuntimeError, match="installed in this Litestar already"):
            by_plugin({**arguments, "plugins": [ProblemDetailsPlugin(catalog=bundled)]}, bundled)
        return
    app = WAYS[first](arguments, bundled)
    layers = app.asgi_handler
    with pytest.raises(RuntimeError, match="installed in this Litestar already"):
        problemdetails.install(app, catalog=bundled)
    assert app.asgi_handler is layers
    assert problem(TestClient(app).get("/conflict"), 409, "conflict")


@pytest.mark.parametrize("way", list(WAYS))
def test_installed_and_wrapped_decides_and_logs_each_request_once(
    bundled: Catalog,
    caplog: pytest.LogCaptureFixture,
    records: Callable[[], Callable[[], list[logging.LogRecord]]],
    way: str,
) -> None:
    app = WAYS[way](build(bundled)[0], bundled)
    guarded = ProblemMiddleware(app, catalog=bundled)
    logs = records()
    client = TestClient(guarded)  # type: ignore[type-var]
    for path, status, code in [
        ("/conflict", 409, "conflict"),
        ("/crash", 500, "internal"),
        ("/nope", 404, "not-found"),
    ]:
        caplog.clear()
        response = client.get(path, headers={"X-Request-ID": f"req-guard-{status}"})
        assert problem(response, status, code)["request_id"] == f"req-guard-{status}"
        assert [record.request_id for record in logs()] == [f"req-guard-{status}"]  # type: ignore[attr-defined]
    # The app object alone still gives the whole behaviour.
    assert problem(TestClient(app).get("/conflict"), 409, "conflict")


@pytest.mark.parametrize("guarded", [False, True], ids=["alone", "guarded"])
@pytest.mark.parametrize("way", list(WAYS))
def test_debug_a_browser_gets_the_frameworks_debug_page(
    bundled: Catalog, records: Callable[[], Callable[[], list[logging.LogRecord]]], way: str, guarded: bool
) -> None:
    """Also with a `ProblemMiddleware` guard outside the app: the page is the answer, not replaced."""
    served = WAYS[way](build(bundled, debug=True)[0], bundled)
    target: Any = ProblemMiddleware(served, catalog=bundled) if guarded else served
    client = TestClient(target)
    logs = records()
    page = client.get("/crash", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert "<title>Litestar exception page</title>" in page.text
    assert SECRET in page.text  # the developer's own traceback, as the framework shows it
    (record,) = [record for record in logs() if record.levelno >= logging.WARNING]
    assert (record.name, record.request_id) == ("problemdetails", page.headers["x-request-id"])  # type: ignore[attr-defined]
    # An API client still gets the problem, and nothing of the exception.
    api = client.get("/crash")
    assert problem(api, 500, "internal")
    assert SECRET.encode() not in api.content
    # Problems are no crashes: a browser gets their HTML page.
    assert '<script type="application/problem+json">' in client.get("/conflict", headers={"Accept": "text/html"}).text


@pytest.mark.parametrize("way", list(WAYS))
def test_options_reach_the_layer_before_a_route_matched(bundled: Catalog, way: str) -> None:
    """`docs_path` is no route of the app's: the layer serves it, as it answers the router's 404."""
    client = TestClient(WAYS[way](build(bundled)[0], bundled, docs_path="/errors/"))
    index = client.get("/errors/", headers={"X-Request-ID": "req-docs-1"})
    assert (index.status_code, index.headers["x-request-id"]) == (200, "req-docs-1")
    assert "conflict" in index.text
    french = client.get("/errors/conflict/", headers={"Accept-Language": "fr"}, follow_redirects=False)
    assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")  # the language asked for
    assert problem(client.get("/errors/no-such-page"), 404, "not-found")


@pytest.mark.parametrize("target", ["installed_app", "plugin_app"])
def test_the_dev_server_serves_the_app_object(target: str) -> None:
    """uvicorn serving the app object, as `litestar run` does."""

    def check(base: str) -> None:
        response = httpx.get(base + "/conflict", headers={"X-Request-ID": "req-dev-1"}, timeout=10)
        assert problem(response, 409, "conflict")["request_id"] == "req-dev-1"
        crashed = httpx.get(base + "/crash", timeout=10)
        problem(crashed, 500, "internal")
        assert b"hunter2" not in crashed.content
        refused = httpx.post(base + "/conflict", timeout=10)
        problem(refused, 405, "method-not-allowed")
        assert "GET" in [method.strip() for method in refused.headers["allow"].split(",")]

    log = serve_with_uvicorn(f"examples.frameworks.litestar_app:{target}", check)
    assert "hunter2" in log  # the operator sees the crash, once
    assert log.count("Traceback") == 1, log


class Profile(msgspec.Struct):
    color: str


class Color(enum.Enum):
    GREEN = "green"


@pytest.mark.parametrize(
    ("annotation", "value", "code", "params"),
    [
        (Annotated[str, Meta(min_length=3)], "ab", "string_too_short", {"min_length": 3}),
        (Annotated[str, Meta(max_length=2)], "abc", "string_too_long", {"max_length": 2}),
        (Annotated[list[int], Meta(min_length=2)], [1], "too_short", {"min_length": 2}),
        (Annotated[dict[str, int], Meta(max_length=0)], {"a": 1}, "too_long", {"max_length": 0}),
        (Annotated[int, Meta(ge=1)], 0, "greater_than_equal", {"ge": 1}),
        (Annotated[float, Meta(gt=0.5)], 0.1, "greater_than", {"gt": 0.5}),
        (Annotated[float, Meta(le=1.5)], 2.0, "less_than_equal", {"le": 1.5}),
        (Annotated[float, Meta(lt=-2.5)], 0.0, "less_than", {"lt": -2.5}),
        (Annotated[int, Meta(multiple_of=5)], 3, "multiple_of", {"multiple_of": 5}),
        (Annotated[str, Meta(pattern="^[a-z]+$")], "A", "string_pattern_mismatch", {"pattern": "^[a-z]+$"}),
        (int, "x", "int_type", None),
        (str | None, 5, "string_type", None),
        (list[int], "x", "list_type", None),
        (Profile, {}, "missing", None),
        (Color, "pink", "enum", None),
    ],
)
def test_msgspecs_messages_are_read_back_as_codes_and_params(
    annotation: Any, value: object, code: str, params: dict[str, object] | None
) -> None:
    """msgspec states a rule in prose only; each message it writes is read back as pydantic's code for that rule."""
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(value, annotation)
    message = str(caught.value).split(" - ", maxsplit=1)[0]  # as Litestar reports it, without the path
    (item,) = litestar_error_items([{"message": message, "key": "field", "source": "body"}]) or []
    assert (item.code, item.params, item.detail) == (code, params, message)


def test_msgspec_prose_it_does_not_know_keeps_no_code() -> None:
    (item,) = litestar_error_items([{"message": "Expected `str` of length >= 1e999", "key": "a.b"}]) or []
    assert (item.code, item.params, item.pointer) == ("string_too_short", None, "#/a/b")  # no infinite limit sent
    (item,) = litestar_error_items([{"message": "Something else went wrong", "key": "x", "source": "query"}]) or []
    assert (item.code, item.params, item.parameter, item.in_) == (None, None, "x", "query")
