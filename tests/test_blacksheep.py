"""BlackSheep with problem details installed inside the app object (`_handovers/blacksheep.py`).

`problemdetails.install(app, ...)` is BlackSheep's way in (DESIGN's table):
the request layer is the app's first middleware, so what runs the app object
(`blacksheep.testing.TestClient(app)`, uvicorn) answers with problems. The
contract under real servers is `tests/acceptance/test_frameworks.py`; these
run BlackSheep's own test client, one dev server, debug mode and the cases of
installing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from blacksheep import Application, Content, Response, Router, text
from blacksheep.exceptions import HTTPException
from blacksheep.testing import TestClient

import problemdetails
from problemdetails import Catalog, ProblemMiddleware
from tests.asgi import call
from tests.conftest import Answer, problem, serve_with_uvicorn, served_records

SECRET = "password=hunter2"
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class Refused(Exception):
    """An exception the app answers with a handler of its own, registered before installing."""


def build(catalog: Catalog, **options: Any) -> tuple[Application, list[str]]:
    """An app with its routes and a handler of its own for `Refused`, and the list that handler writes to."""
    ran: list[str] = []
    app = Application(router=Router(), **options)

    @app.router.get("/ok")
    async def ok() -> Response:
        return text(problemdetails.current_request_id() or "")

    async def conflict() -> Response:
        raise catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    app.router.add_get("/conflict", conflict)
    app.router.add_head("/conflict", conflict)

    @app.router.get("/crash")
    async def crash() -> Response:
        raise RuntimeError(SECRET)

    @app.router.get("/http-error")
    async def http_error() -> Response:
        raise HTTPException(429, "Slow down.")

    @app.router.get("/text-error")
    async def text_error() -> Response:
        return Response(404, content=Content(b"text/plain", b"Order 7 does not exist."))

    @app.router.get("/refused")
    async def refused() -> Response:
        raise Refused

    async def answer_refused(app: Any, request: Any, exc: Exception) -> Response:
        ran.append(request.url.path.decode())
        return Response(403, content=Content(b"text/plain", b"Refused by policy."))

    app.exceptions_handlers[Refused] = answer_refused
    return app, ran


class Client:
    """BlackSheep's own test client on an app, each call run to its end on one event loop."""

    def __init__(self, app: Application) -> None:
        self.runner = asyncio.Runner()
        self.runner.run(app.start())  # type: ignore[no-untyped-call]
        self.client = TestClient(app)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        async def send() -> Answer:
            # Lowercase names, as an ASGI server gives them: BlackSheep's test client puts the names it is
            # given in the scope as they are, after its own defaults (a browser's `accept`) unless it is one.
            given = {key.lower(): value for key, value in {**JSON, **(headers or {})}.items()}
            response = await getattr(self.client, method.lower())(path, headers=given)
            body = await response.read() or b""
            return Answer(
                response.status, {key.decode().lower(): value.decode() for key, value in response.headers}, body
            )

        return self.runner.run(send())

    def close(self) -> None:
        self.runner.close()


@pytest.fixture
def installed(bundled: Catalog) -> Iterator[tuple[Client, list[str]]]:
    app, ran = build(bundled)
    assert problemdetails.install(app, catalog=bundled) is app
    client = Client(app)
    yield client, ran
    client.close()


@pytest.fixture
def clients() -> Iterator[Callable[[Application], Client]]:
    made: list[Client] = []

    def make(app: Application) -> Client:
        made.append(Client(app))
        return made[-1]

    yield make
    for client in made:
        client.close()


Installed = tuple[Client, list[str]]


def test_a_raised_problem_through_blacksheeps_own_test_client(installed: Installed) -> None:
    client, _ = installed
    response = client.request("GET", "/conflict", {"X-Request-ID": "req-install-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-install-1", ["a1"], "/conflict")


def test_a_crash_is_the_500_problem_logged_once(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, clients: Callable[[Application], Client]
) -> None:
    client = clients(problemdetails.install(build(bundled)[0], catalog=bundled))
    caplog.set_level(logging.INFO)
    response = client.request("GET", "/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    assert b"RuntimeError" not in response.content
    (record,) = served_records(
        caplog
    )  # not also BlackSheep's own "Handled error" record (with the exception's message)
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


def test_the_router_404(installed: Installed) -> None:
    client, _ = installed
    problem(client.request("GET", "/nope"), 404, "not-found")
    # BlackSheep's router has no 405: a method a path does not take is its 404.
    problem(client.request("POST", "/conflict"), 404, "not-found")


def test_blacksheeps_http_error_keeps_its_message(installed: Installed) -> None:
    client, _ = installed
    assert problem(client.request("GET", "/http-error"), 429, "rate-limited")["detail"] == "Slow down."


def test_a_text_error_page_is_rewritten_keeping_its_message(installed: Installed) -> None:
    client, _ = installed
    body = problem(client.request("GET", "/text-error"), 404, "not-found")
    assert body["detail"] == "Order 7 does not exist."


def test_head_gets_gets_headers(installed: Installed) -> None:
    """BlackSheep frames a response from its content: HEAD gets GET's, and the server sends none of it."""
    client, _ = installed
    head, get = client.request("HEAD", "/conflict"), client.request("GET", "/conflict")
    assert (head.status_code, head.headers["content-type"]) == (409, "application/problem+json")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(installed: Installed) -> None:
    client, _ = installed
    xml = client.request("GET", "/conflict", {"Accept": "application/problem+xml"})
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = client.request("GET", "/conflict", {"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")
    assert '<script type="application/problem+json">' in page.text


def test_the_happy_path_only_gains_a_request_id(installed: Installed) -> None:
    client, _ = installed
    given = client.request("GET", "/ok", {"X-Request-ID": "req-install-2"})
    assert (given.status_code, given.headers["x-request-id"]) == (200, "req-install-2")
    assert given.text == "req-install-2"  # `current_request_id()` inside the handler
    assert re.fullmatch("[0-9a-f]{32}", client.request("GET", "/ok").headers["x-request-id"])


def test_a_handler_the_app_registered_before_still_runs(installed: Installed) -> None:
    client, ran = installed
    body = problem(client.request("GET", "/refused"), 403, "forbidden")
    assert ran == ["/refused"]
    assert body["detail"] == "Refused by policy."  # its text page, rewritten like any other


def test_an_exception_handler_of_the_apps_is_chained_to(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, clients: Callable[[Application], Client]
) -> None:
    """The app's catch-all still runs for every crash (never replaced), which is still logged once, by the layer."""
    seen: list[str] = []

    async def catch_all(app: Any, request: Any, exc: Exception) -> Response:
        seen.append(type(exc).__name__)
        return Response(500, content=Content(b"text/plain", b"Something broke."))

    app, _ = build(bundled)
    app.exceptions_handlers[Exception] = catch_all
    client = clients(problemdetails.install(app, catalog=bundled))
    caplog.set_level(logging.INFO)
    body = problem(client.request("GET", "/crash"), 500, "internal")
    assert seen == ["RuntimeError"]
    (record,) = served_records(caplog)
    assert (record.request_id, record.exc_info is not None) == (body["request_id"], True)  # type: ignore[attr-defined]
    # A raised problem and BlackSheep's HTTP errors stay the layer's; the catch-all never saw them.
    problem(client.request("GET", "/conflict"), 409, "conflict")
    problem(client.request("GET", "/http-error"), 429, "rate-limited")
    assert seen == ["RuntimeError"]


def test_installing_twice_is_refused(bundled: Catalog, clients: Callable[[Application], Client]) -> None:
    app, _ = build(bundled)
    problemdetails.install(app, catalog=bundled)
    with pytest.raises(RuntimeError, match="installed in this Application already"):
        problemdetails.install(app, catalog=bundled)
    assert problem(clients(app).request("GET", "/conflict"), 409, "conflict")


def test_installing_into_a_started_app_is_refused(bundled: Catalog, clients: Callable[[Application], Client]) -> None:
    app, _ = build(bundled)
    clients(app)  # started
    with pytest.raises(RuntimeError, match="before the Application starts"):
        problemdetails.install(app, catalog=bundled)


def test_installed_and_wrapped_decides_and_logs_each_request_once(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = build(bundled)
    problemdetails.install(app, catalog=bundled)
    guarded = ProblemMiddleware(app, catalog=bundled)
    caplog.set_level(logging.INFO)
    for path, status, code in [
        ("/conflict", 409, "conflict"),
        ("/crash", 500, "internal"),
        ("/nope", 404, "not-found"),
        ("/text-error", 404, "not-found"),
    ]:
        caplog.clear()
        served = call(guarded, path=path, headers={"x-request-id": f"req-guard-{status}"})
        assert (served.status, served.json()["code"], served.json()["request_id"]) == (
            status,
            code,
            f"req-guard-{status}",
        )
        assert served.headers["x-request-id"] == f"req-guard-{status}"
        ours = [record.request_id for record in caplog.records if record.name == "problemdetails"]  # type: ignore[attr-defined]
        assert ours == [f"req-guard-{status}"]
        assert not [record for record in caplog.records if record.name.startswith("blacksheep")]


def test_debug_a_browser_gets_blacksheeps_error_details_page(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, clients: Callable[[Application], Client]
) -> None:
    client = clients(problemdetails.install(build(bundled, show_error_details=True)[0], catalog=bundled))
    caplog.set_level(logging.INFO)
    page = client.request("GET", "/crash", BROWSER)
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert SECRET in page.text  # the developer's own traceback, as BlackSheep shows it
    assert "application/problem+json" not in page.text
    (record,) = served_records(caplog)
    assert (record.name, record.request_id) == ("problemdetails", page.headers["x-request-id"])  # type: ignore[attr-defined]
    # An API client still gets the problem, and nothing of the exception.
    api = client.request("GET", "/crash")
    assert problem(api, 500, "internal")
    assert SECRET.encode() not in api.content
    # Problems are no crashes: a browser gets their HTML page.
    assert '<script type="application/problem+json">' in client.request("GET", "/conflict", BROWSER).text


def test_a_guard_outside_the_app_sends_blacksheeps_error_details_page_as_it_is(bundled: Catalog) -> None:
    guarded = ProblemMiddleware(
        problemdetails.install(build(bundled, show_error_details=True)[0], catalog=bundled), catalog=bundled
    )
    page = call(guarded, path="/crash", headers=BROWSER)
    assert (page.status, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert SECRET.encode() in page.body  # BlackSheep's own page, not the problem's HTML
    assert len(page.headers["x-request-id"]) == 32


def test_options_reach_the_layer(bundled: Catalog, clients: Callable[[Application], Client]) -> None:
    """`docs_path` is no route of the app's: the layer serves it, as it answers the router's 404."""
    client = clients(problemdetails.install(build(bundled)[0], catalog=bundled, docs_path="/errors/"))
    index = client.request("GET", "/errors/", {"X-Request-ID": "req-docs-1", "Accept": "text/html"})
    assert (index.status_code, index.headers["x-request-id"]) == (200, "req-docs-1")
    assert "conflict" in index.text
    german = client.request("GET", "/errors/conflict/", {"Accept-Language": "de"})  # the language asked for
    assert (german.status_code, german.headers["location"]) == (302, "../de/conflict/")
    assert problem(client.request("GET", "/errors/no-such-page"), 404, "not-found")


def test_the_dev_server_serves_the_app_object() -> None:
    """uvicorn serving the app object."""

    def check(base: str) -> None:
        response = httpx.get(base + "/conflict", headers={"X-Request-ID": "req-dev-1"}, timeout=10)
        assert problem(response, 409, "conflict")["request_id"] == "req-dev-1"
        crashed = httpx.get(base + "/crash", timeout=10)
        problem(crashed, 500, "internal")
        assert b"hunter2" not in crashed.content
        head, get = httpx.head(base + "/nope", timeout=10), httpx.get(base + "/nope", timeout=10)
        assert (head.status_code, head.content) == (404, b"")  # the server sends no body for HEAD
        assert head.headers["content-length"] == get.headers["content-length"]

    log = serve_with_uvicorn("examples.frameworks.blacksheep_app:installed_app", check)
    assert "hunter2" in log  # the operator sees the crash, once
    assert log.count("Traceback") == 1, log
