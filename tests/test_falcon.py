"""Falcon (WSGI `falcon.App` and ASGI `falcon.asgi.App`) with problem details installed inside the app object.

`problemdetails.install(app, ...)` is Falcon's way in (DESIGN's table): the
request layer is a middleware component, first in the app's list, so what runs
the app object (`falcon.testing.TestClient(app)`, wsgiref's server, uvicorn)
answers with problems. The contract under real servers is
`tests/acceptance/test_frameworks.py`; these run Falcon's own test client, one
dev server per interface, and the cases of installing.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import falcon
import falcon.asgi
import falcon.testing
import httpx
import pytest

import problemdetails
from problemdetails import Catalog, ProblemMiddleware, WSGIProblemMiddleware
from tests.conftest import serve_with_uvicorn, served_records

SECRET = "password=hunter2"


class Refused(Exception):
    """An exception the app answers with a handler of its own, registered before installing."""


def resources(catalog: Catalog) -> dict[str, Callable[[Any, Any], None]]:
    """What each route does, the same under WSGI and ASGI."""

    def ok(req: Any, resp: Any) -> None:
        resp.media = {"request_id": problemdetails.current_request_id()}

    def conflict(req: Any, resp: Any) -> None:
        raise catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    def crash(req: Any, resp: Any) -> None:
        raise RuntimeError(SECRET)

    def http_error(req: Any, resp: Any) -> None:
        raise falcon.HTTPTooManyRequests(retry_after=7)

    def text_error(req: Any, resp: Any) -> None:
        resp.status, resp.content_type, resp.text = 404, "text/plain", "Order 7 does not exist."

    def refused(req: Any, resp: Any) -> None:
        raise Refused

    return {
        "/ok": ok,
        "/conflict": conflict,
        "/crash": crash,
        "/http-error": http_error,
        "/text-error": text_error,
        "/refused": refused,
    }


def resource(respond: Callable[[Any, Any], None], asgi: bool) -> object:
    """A resource answering GET and HEAD with `respond` (coroutine responders for `falcon.asgi.App`)."""
    if asgi:

        class Async:
            async def on_get(self, req: Any, resp: Any) -> None:
                respond(req, resp)

            on_head = on_get

        return Async()

    class Sync:
        def on_get(self, req: Any, resp: Any) -> None:
            respond(req, resp)

        on_head = on_get

    return Sync()


def build(catalog: Catalog, asgi: bool, **handlers: Any) -> tuple[Any, list[str]]:
    """An app with the routes and a handler of its own for `Refused`, and the list that handler writes to."""
    ran: list[str] = []
    app: Any = falcon.asgi.App() if asgi else falcon.App()
    for path, respond in resources(catalog).items():
        app.add_route(path, resource(respond, asgi))

    def answer_refused(req: Any, resp: Any, ex: Exception, params: Any) -> None:
        ran.append(req.path)
        resp.status, resp.content_type, resp.text = 403, "text/plain", "Refused by policy."

    async def answer_refused_async(req: Any, resp: Any, ex: Exception, params: Any) -> None:
        answer_refused(req, resp, ex, params)

    app.add_error_handler(Refused, answer_refused_async if asgi else answer_refused)
    for exception, handler in handlers.items():
        app.add_error_handler(getattr(falcon, exception, Exception), handler)
    return app, ran


INTERFACES = {"wsgi": False, "asgi": True}


@pytest.fixture(params=list(INTERFACES))
def installed(request: pytest.FixtureRequest, bundled: Catalog) -> tuple[falcon.testing.TestClient, list[str]]:
    """Falcon's own test client on the app object, problem details installed inside it."""
    app, ran = build(bundled, INTERFACES[request.param])
    assert problemdetails.install(app, catalog=bundled) is app
    return falcon.testing.TestClient(app), ran


Client = tuple[falcon.testing.TestClient, list[str]]


def problem(response: falcon.testing.Result | httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-length"] == str(len(response.content))
    body: dict[str, Any] = json.loads(response.content)
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    caplog.set_level(logging.INFO)
    return lambda: served_records(caplog)


def test_a_raised_problem_through_falcons_own_test_client(installed: Client) -> None:
    client, _ = installed
    response = client.simulate_get("/conflict", headers={"X-Request-ID": "req-install-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-install-1", ["a1"], "/conflict")


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_a_crash_is_the_500_problem_logged_once(
    bundled: Catalog, records: Callable[[], list[logging.LogRecord]], interface: str
) -> None:
    app, _ = build(bundled, INTERFACES[interface])
    errors: list[str] = []
    client = falcon.testing.TestClient(problemdetails.install(app, catalog=bundled))
    response = client.simulate_get("/crash", extras={"wsgi.errors": _Errors(errors)})
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    assert b"RuntimeError" not in response.content
    (record,) = records()
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])
    assert errors == []  # Falcon's own report of a crash (`req.log_error`) is not written: the record is the one


class _Errors:
    """A `wsgi.errors` stream that keeps what Falcon writes to it."""

    def __init__(self, written: list[str]) -> None:
        self.written = written

    def write(self, text: str) -> None:
        self.written.append(text)

    def writelines(self, lines: list[str]) -> None:
        self.written.extend(lines)

    def flush(self) -> None:
        pass


def test_the_router_404_and_405_with_allow(installed: Client) -> None:
    client, _ = installed
    problem(client.simulate_get("/nope"), 404, "not-found")
    refused = client.simulate_post("/conflict")
    problem(refused, 405, "method-not-allowed")
    assert sorted(method.strip() for method in refused.headers["allow"].split(",")) == ["GET", "HEAD", "OPTIONS"]


def test_falcons_http_error_keeps_its_headers(installed: Client) -> None:
    client, _ = installed
    response = client.simulate_get("/http-error")
    problem(response, 429, "rate-limited")
    assert response.headers["retry-after"] == "7"


def test_a_text_error_page_is_rewritten_keeping_its_message(installed: Client) -> None:
    client, _ = installed
    body = problem(client.simulate_get("/text-error"), 404, "not-found")
    assert body["detail"] == "Order 7 does not exist."


def test_head_gets_the_headers_and_no_body(installed: Client) -> None:
    client, _ = installed
    head, get = client.simulate_head("/conflict"), client.simulate_get("/conflict")
    assert (head.status_code, head.content, head.headers["content-type"]) == (409, b"", "application/problem+json")
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


def test_negotiation_gives_xml_and_html(installed: Client) -> None:
    client, _ = installed
    xml = client.simulate_get("/conflict", headers={"Accept": "application/problem+xml"})
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = client.simulate_get("/conflict", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")
    assert '<script type="application/problem+json">' in page.text


def test_the_happy_path_only_gains_a_request_id(installed: Client) -> None:
    client, _ = installed
    given = client.simulate_get("/ok", headers={"X-Request-ID": "req-install-2"})
    assert (given.status_code, given.headers["x-request-id"]) == (200, "req-install-2")
    assert given.json == {"request_id": "req-install-2"}  # `current_request_id()` inside the responder
    assert re.fullmatch("[0-9a-f]{32}", client.simulate_get("/ok").headers["x-request-id"])
    assert problemdetails.current_request_id() is None  # not after the request


def test_a_handler_the_app_registered_before_still_runs(installed: Client) -> None:
    client, ran = installed
    body = problem(client.simulate_get("/refused"), 403, "forbidden")
    assert ran == ["/refused"]
    assert body["detail"] == "Refused by policy."  # its text page, rewritten like any other


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_an_exception_handler_of_the_apps_is_chained_to(
    bundled: Catalog, records: Callable[[], list[logging.LogRecord]], interface: str
) -> None:
    """The app's catch-all still runs for every crash (never replaced), which is still logged once, by the layer."""
    seen: list[str] = []

    def catch_all(req: Any, resp: Any, ex: Exception, params: Any) -> None:
        seen.append(type(ex).__name__)
        resp.status, resp.content_type, resp.text = 500, "text/plain", "Something broke."

    async def catch_all_async(req: Any, resp: Any, ex: Exception, params: Any) -> None:
        catch_all(req, resp, ex, params)

    app, _ = build(bundled, INTERFACES[interface], Exception=catch_all_async if INTERFACES[interface] else catch_all)
    client = falcon.testing.TestClient(problemdetails.install(app, catalog=bundled))
    body = problem(client.simulate_get("/crash"), 500, "internal")
    assert seen == ["RuntimeError"]
    (record,) = records()
    assert (record.request_id, record.exc_info is not None) == (body["request_id"], True)  # type: ignore[attr-defined]
    # A raised problem and Falcon's HTTP errors stay the layer's; the catch-all never saw them.
    problem(client.simulate_get("/conflict"), 409, "conflict")
    problem(client.simulate_get("/nope"), 404, "not-found")
    assert seen == ["RuntimeError"]


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_an_http_error_handler_of_the_apps_stays(bundled: Catalog, interface: str) -> None:
    """The app's own `HTTPError` handler keeps answering; the page it renders is rewritten, keeping its message."""

    def own_page(req: Any, resp: Any, ex: falcon.HTTPError, params: Any) -> None:
        resp.status, resp.media = ex.status, {"detail": f"No luck: {ex.title}"}

    async def own_page_async(req: Any, resp: Any, ex: falcon.HTTPError, params: Any) -> None:
        own_page(req, resp, ex, params)

    asgi = INTERFACES[interface]
    app, _ = build(bundled, asgi, HTTPError=own_page_async if asgi else own_page)
    client = falcon.testing.TestClient(problemdetails.install(app, catalog=bundled))
    assert problem(client.simulate_get("/nope"), 404, "not-found")["detail"] == "No luck: 404 Not Found"


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_installing_twice_is_refused(bundled: Catalog, interface: str) -> None:
    app, _ = build(bundled, INTERFACES[interface])
    problemdetails.install(app, catalog=bundled)
    with pytest.raises(RuntimeError, match="installed in this App already"):
        problemdetails.install(app, catalog=bundled)
    response = falcon.testing.TestClient(app).simulate_get("/conflict")
    assert problem(response, 409, "conflict")


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_installed_and_wrapped_decides_and_logs_each_request_once(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, interface: str
) -> None:
    asgi = INTERFACES[interface]
    app, _ = build(bundled, asgi)
    problemdetails.install(app, catalog=bundled)
    guarded = ProblemMiddleware(app, catalog=bundled) if asgi else WSGIProblemMiddleware(app, catalog=bundled)
    client = falcon.testing.TestClient(guarded)
    caplog.set_level(logging.INFO)
    for path, status, code in [
        ("/conflict", 409, "conflict"),
        ("/crash", 500, "internal"),
        ("/nope", 404, "not-found"),
        ("/text-error", 404, "not-found"),
    ]:
        caplog.clear()
        response = client.simulate_get(path, headers={"X-Request-ID": f"req-guard-{status}"})
        assert problem(response, status, code)["request_id"] == f"req-guard-{status}"
        assert [getattr(record, "request_id", None) for record in served_records(caplog)] == [f"req-guard-{status}"]
    # The app object alone still gives the whole behaviour.
    assert problem(falcon.testing.TestClient(app).simulate_get("/conflict"), 409, "conflict")


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_falcon_has_no_debug_page_the_debug_member_is_the_problems(bundled: Catalog, interface: str) -> None:
    """Falcon has no debug page of its own: with `debug=True`, a crash's problem carries the `debug` member."""
    app, _ = build(bundled, INTERFACES[interface])
    client = falcon.testing.TestClient(problemdetails.install(app, catalog=bundled, debug=True))
    body = problem(client.simulate_get("/crash"), 500, "internal")
    assert body["debug"]["exception"] == "builtins.RuntimeError"
    page = client.simulate_get("/crash", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_options_reach_the_layer_before_a_route_matched(bundled: Catalog, interface: str) -> None:
    """`docs_path` is no route of the app's: the layer serves it, as it answers the router's 404."""
    app, _ = build(bundled, INTERFACES[interface])
    client = falcon.testing.TestClient(problemdetails.install(app, catalog=bundled, docs_path="/errors/"))
    index = client.simulate_get("/errors/", headers={"X-Request-ID": "req-docs-1"})
    assert (index.status_code, index.headers["x-request-id"]) == (200, "req-docs-1")
    assert "conflict" in index.text
    french = client.simulate_get("/errors/conflict/", headers={"Accept-Language": "fr"})  # the language asked for
    assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")
    assert problem(client.simulate_get("/errors/no-such-page"), 404, "not-found")


def check_dev_server(base: str) -> None:
    response = httpx.get(base + "/conflict", headers={"X-Request-ID": "req-dev-1"}, timeout=10)
    assert problem(response, 409, "conflict")["request_id"] == "req-dev-1"
    crashed = httpx.get(base + "/crash", timeout=10)
    problem(crashed, 500, "internal")
    assert b"hunter2" not in crashed.content
    refused = httpx.post(base + "/conflict", timeout=10)
    problem(refused, 405, "method-not-allowed")
    assert "GET" in [method.strip() for method in refused.headers["allow"].split(",")]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_wsgi_dev_server_serves_the_app_object(caplog: pytest.LogCaptureFixture) -> None:
    """wsgiref's server, which Falcon's docs use for development, serving the app object on 127.0.0.1."""
    from examples.frameworks.falcon_app import installed_wsgi_app

    server = make_server("127.0.0.1", 0, installed_wsgi_app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        check_dev_server(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not thread.is_alive()
    crashes = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [(record.name, record.exc_info is not None) for record in crashes] == [("problemdetails", True)]


def test_the_asgi_dev_server_serves_the_app_object() -> None:
    """uvicorn serving the `falcon.asgi.App` object."""
    log = serve_with_uvicorn("examples.frameworks.falcon_app:installed_asgi_app", check_dev_server)
    assert "hunter2" in log  # the operator sees the crash, once
    assert log.count("Traceback") == 1, log
