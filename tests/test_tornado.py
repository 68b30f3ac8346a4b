"""Tornado with problem details inside the application (`problemdetails/tornado.py`), through Tornado's test client.

Its convention (DESIGN's table) is `problemdetails.install(application, catalog=...)`. The contract under
Tornado's own server is `tests/acceptance/test_frameworks.py`; these drive `tornado.testing.AsyncHTTPTestCase`
(Tornado's HTTP server on 127.0.0.1 and its HTTP client), and the cases of installing.
"""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from tornado import web, websocket
from tornado.simple_httpclient import HTTPStreamClosedError
from tornado.testing import AsyncHTTPTestCase

import problemdetails
from problemdetails import Catalog
from problemdetails._exchange import EXCHANGE
from problemdetails.tornado import ProblemDetailsMixin
from tests.conftest import Answer, problem, served_records

SECRET = "password=hunter2"
WRITTEN: list[int] = []  # the statuses a handler's own `write_error` was called with


def handlers(catalog: Catalog) -> list[tuple[str, type[web.RequestHandler]]]:
    class Ok(web.RequestHandler):
        def get(self) -> None:
            self.write(problemdetails.current_request_id() or "")

    class Conflict(web.RequestHandler):
        def get(self) -> None:
            raise catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

        head = get

    class Crash(web.RequestHandler):
        def get(self) -> None:
            raise RuntimeError(SECRET)

    class Unauthorized(web.RequestHandler):
        def get(self) -> None:
            self.set_header("WWW-Authenticate", 'Bearer realm="zones"')
            self.set_header("X-Shard", "eu-1")
            self.set_cookie("seen", "1")
            raise web.HTTPError(401, "token %s expired", SECRET)  # the log message, with its arguments

    class Reasoned(web.RequestHandler):
        def get(self, status: str) -> None:
            raise web.HTTPError(int(status), f"internal note {SECRET}", reason="Zone 7 is archived.")

    class Page(web.RequestHandler):
        def get(self) -> None:
            self.set_status(404)
            self.set_header("X-Shard", "eu-1")
            self.finish("Order 7 does not exist.")

    class DictPage(web.RequestHandler):
        def get(self) -> None:
            self.set_status(400)
            self.write({"detail": "The zone name is too long."})  # finished by Tornado itself

    class SentError(web.RequestHandler):
        def get(self) -> None:
            self.send_error(403, reason="Zone 7 belongs to another tenant.")

    class Argument(web.RequestHandler):
        def get(self) -> None:
            self.write(self.get_argument("zone"))

    class Redirect(web.RequestHandler):
        def get(self) -> None:
            self.redirect("/ok")

    class Stream(web.RequestHandler):
        async def get(self) -> None:
            self.write(b"x" * 10)
            await self.flush()
            raise RuntimeError("the disk went away")

    class OwnErrorPage(web.RequestHandler):
        """A handler of the app's own that overrides `write_error`: it still runs, its page is replaced."""

        def get(self) -> None:
            raise catalog["conflict"]("taken", conflicts=["a2"])

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            WRITTEN.append(status_code)
            self.finish(f"<h1>Error {status_code}</h1>")

    class Delegating(ProblemDetailsMixin, web.RequestHandler):
        """The mixin named: a `write_error` of the handler's own leaves the problem to it."""

        def get(self) -> None:
            raise catalog["gone"]("This invitation expired.")

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.set_header("X-Handled-By", "zones")
            super().write_error(status_code, **kwargs)

    return [
        (r"/ok", Ok),
        (r"/conflict", Conflict),
        (r"/crash", Crash),
        (r"/unauthorized", Unauthorized),
        (r"/reasoned/(\d+)", Reasoned),
        (r"/page", Page),
        (r"/dict-page", DictPage),
        (r"/sent-error", SentError),
        (r"/argument", Argument),
        (r"/redirect", Redirect),
        (r"/stream", Stream),
        (r"/own-error-page", OwnErrorPage),
        (r"/delegating", Delegating),
    ]


def installed(catalog: Catalog, settings: dict[str, Any] | None = None, **options: Any) -> web.Application:
    application = web.Application(handlers(catalog), **(settings or {}))
    assert problemdetails.install(application, catalog=catalog, **options) is application
    return application


class Client(AsyncHTTPTestCase):
    """Tornado's own test case, driven from pytest: `setUp` serves the application on 127.0.0.1."""

    def __init__(self, application: web.Application) -> None:
        super().__init__("runTest")
        self.application = application
        self.setUp()

    def get_app(self) -> web.Application:
        return self.application

    def runTest(self) -> None:  # unittest wants a test method to name; pytest runs the module's tests
        pass

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        body = b"" if method in ("POST", "PUT", "PATCH") else None
        response = self.fetch(path, method=method, headers=headers, body=body, follow_redirects=False)
        received = {name.lower(): value for name, value in response.headers.get_all()}
        return Answer(response.code, received, response.body or b"")


@pytest.fixture
def client(bundled: Catalog) -> Iterator[Client]:
    made = Client(installed(bundled))
    yield made
    made.tearDown()


def test_a_raised_problem_through_tornados_own_test_client(client: Client) -> None:
    response = client.request("GET", "/conflict", {"X-Request-ID": "req-tornado-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-tornado-1", ["a1"], "/conflict")


def test_the_happy_path_only_gains_a_request_id(client: Client) -> None:
    response = client.request("GET", "/ok", {"X-Request-ID": "req-tornado-2"})
    # `current_request_id()` inside the handler is the one the response carries.
    assert (response.status_code, response.content, response.headers["x-request-id"]) == (
        200,
        b"req-tornado-2",
        "req-tornado-2",
    )


def test_a_crash_is_the_500_problem_logged_once(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = client.request("GET", "/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    # Not also Tornado's "Uncaught exception" (its access log keeps its one line per request).
    (record,) = [record for record in served_records(caplog) if record.name != "tornado.access"]
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


def test_the_default_404_and_a_405_with_allow(client: Client) -> None:
    assert problem(client.request("GET", "/nope"), 404, "not-found")["instance"] == "/nope"
    response = client.request("POST", "/conflict")
    problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_the_headers_a_handler_set_survive_send_error(client: Client) -> None:
    response = client.request("GET", "/unauthorized")
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="zones"'
    assert response.headers["x-shard"] == "eu-1"
    assert "seen=1" in response.headers["set-cookie"]
    assert SECRET.encode() not in response.content  # the log message is the operator's


def test_an_http_errors_reason_is_a_4xx_detail_and_its_log_message_never_leaves(client: Client) -> None:
    body = problem(client.request("GET", "/reasoned/410"), 410, "gone")
    assert body["detail"] == "Zone 7 is archived."
    response = client.request("GET", "/reasoned/503")
    assert "detail" not in problem(response, 503, "unavailable")  # a 5xx's text is never passed on
    for sent in (response.content, str(response.headers).encode()):
        assert SECRET.encode() not in sent


def test_a_page_a_handler_wrote_is_replaced_keeping_its_message(client: Client) -> None:
    response = client.request("GET", "/page")
    assert problem(response, 404, "not-found")["detail"] == "Order 7 does not exist."
    assert response.headers["x-shard"] == "eu-1"
    assert problem(client.request("GET", "/dict-page"), 400, "bad-request")["detail"] == "The zone name is too long."
    sent = client.request("GET", "/sent-error")
    assert problem(sent, 403, "forbidden")["detail"] == "Zone 7 belongs to another tenant."


def test_a_missing_argument_is_an_errors_item(client: Client) -> None:
    body = problem(client.request("GET", "/argument"), 400, "bad-request")
    assert body["errors"] == [{"detail": "Missing argument zone.", "parameter": "zone", "code": "missing"}]


def test_a_handlers_own_write_error_still_runs_and_its_page_is_replaced(client: Client) -> None:
    WRITTEN.clear()
    body = problem(client.request("GET", "/own-error-page"), 409, "conflict")
    assert body["conflicts"] == ["a2"]  # the problem raised, not a page's
    assert WRITTEN == [409]


def test_the_mixin_named_in_a_handler_is_what_its_write_error_leaves_to(client: Client) -> None:
    response = client.request("GET", "/delegating")
    assert problem(response, 410, "gone")["detail"] == "This invitation expired."
    assert response.headers["x-handled-by"] == "zones"


def test_a_redirect_passes_with_a_request_id(client: Client) -> None:
    response = client.request("GET", "/redirect")
    assert (response.status_code, response.headers["location"]) == (302, "/ok")
    assert response.headers["x-request-id"]


def test_head_gets_gets_headers_and_no_body(client: Client) -> None:
    head, get = client.request("HEAD", "/conflict"), client.request("GET", "/conflict")
    assert (head.status_code, head.headers["content-type"], head.content) == (409, "application/problem+json", b"")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(client: Client) -> None:
    xml = client.request("GET", "/conflict", {"Accept": "application/problem+xml"})
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = client.request("GET", "/conflict", {"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")


def test_a_stream_failing_mid_body_is_aborted_and_logged_once(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(HTTPStreamClosedError):  # the client sees truncation
        client.request("GET", "/stream", {"X-Request-ID": "req-tornado-3"})
    (record,) = [record for record in served_records(caplog) if record.name != "tornado.access"]
    assert record.getMessage().startswith("exception after the response started; aborting: GET /stream")


def test_in_tornados_debug_mode_a_browser_gets_its_traceback_page(bundled: Catalog) -> None:
    client = Client(installed(bundled, {"serve_traceback": True}))
    try:
        page = client.request("GET", "/crash", {"Accept": "text/html"})
        api = client.request("GET", "/crash")
    finally:
        client.tearDown()
    assert (page.status_code, page.headers["content-type"]) == (500, "text/plain")
    assert "Traceback" in page.text
    problem(api, 500, "internal")  # an API client still gets the problem


def test_options_reach_the_handlers(bundled: Catalog) -> None:
    client = Client(installed(bundled, instance=None, docs_path="/errors/"))
    try:
        assert "instance" not in problem(client.request("GET", "/conflict"), 409, "conflict")
        page = client.request("GET", "/errors/conflict/")
        assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert page.headers["x-request-id"]
        french = client.request("GET", "/errors/conflict/", {"Accept-Language": "fr"})  # the language asked for
        assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")
        problem(client.request("GET", "/errors/no-such-page"), 404, "not-found")
    finally:
        client.tearDown()


def test_installing_twice_is_refused(bundled: Catalog) -> None:
    application = installed(bundled)
    with pytest.raises(RuntimeError, match="installed in this Application already"):
        problemdetails.install(application, catalog=bundled)


def test_the_mixin_without_install_says_what_to_call(bundled: Catalog) -> None:
    class Named(ProblemDetailsMixin, web.RequestHandler):
        def get(self) -> None:
            raise bundled["conflict"]("taken")

    client = Client(web.Application([(r"/named", Named)]))
    try:
        with pytest.warns(RuntimeWarning, match=r"call problemdetails.install\(application"):
            response = client.request("GET", "/named")
    finally:
        client.tearDown()
    assert (response.status_code, response.headers["content-type"]) == (500, "text/html; charset=UTF-8")


def test_an_error_response_leaves_no_reference_cycle(bundled: Catalog) -> None:
    # As the other layers' (tests/test_asgi.py): with the collector off, a request's exchange is freed
    # once Tornado is done with the request.
    exchanges: list[weakref.ref[Any]] = []

    class Weak(web.RequestHandler):
        def get(self) -> None:
            exchanges.append(weakref.ref(self._problemdetails[EXCHANGE]))  # type: ignore[attr-defined]
            raise bundled["conflict"]("taken")

    application = installed(bundled)
    application.add_handlers(".*", [(r"/weak", Weak)])
    client = Client(application)
    gc.disable()
    try:
        problem(client.request("GET", "/weak"), 409, "conflict")
        client.tearDown()
        assert len(exchanges) == 1
        assert exchanges[0]() is None
    finally:
        gc.enable()


def test_a_websocket_handler_still_upgrades_and_a_refused_handshake_is_a_problem(bundled: Catalog) -> None:
    class Echo(websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message)

    application = installed(bundled)
    application.add_handlers(".*", [(r"/echo", Echo)])
    client = Client(application)

    async def echo() -> str | bytes | None:
        connection = await websocket.websocket_connect(client.get_url("/echo").replace("http", "ws", 1))
        await connection.write_message("ping")
        answer = await connection.read_message()
        connection.close()
        return answer

    try:
        assert client.io_loop.run_sync(echo) == "ping"
        refused = client.request("GET", "/echo")  # no Upgrade: Tornado refuses it with a text page
    finally:
        client.tearDown()
    problem(refused, 400, "bad-request")
