"""Sanic with problem details installed (`_handovers/sanic.py`), through Sanic's own test clients.

Its convention (DESIGN's table) is `problemdetails.install(app, catalog=...)`. The contract under Sanic's
own server and under uvicorn is `tests/acceptance/test_frameworks.py`; these drive sanic-testing's
`app.test_client` (Sanic's server on 127.0.0.1, and httpx) and `app.asgi_client` (the app as ASGI).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest
from sanic import Request, Sanic, response
from sanic.exceptions import SanicException, Unauthorized
from sanic.handlers import ErrorHandler
from sanic.response import BaseHTTPResponse

import problemdetails
from problemdetails import Catalog
from problemdetails._exchange import EXCHANGE
from tests.conftest import Answer, problem, served_records

SECRET = "password=hunter2"
NAMES = (f"problemdetails_test_{n}" for n in itertools.count())


def built(catalog: Catalog, error_handler: ErrorHandler | None = None, **options: Any) -> Sanic[Any, Any]:
    app = Sanic(next(NAMES), error_handler=error_handler)

    @app.get("/ok")
    async def ok(request: Request) -> response.HTTPResponse:
        return response.text(problemdetails.current_request_id() or "")

    @app.get("/conflict")
    async def conflict(request: Request) -> response.HTTPResponse:
        raise catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    @app.route("/head-too", methods=["GET", "HEAD"])
    async def head_too(request: Request) -> response.HTTPResponse:
        raise catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    @app.get("/crash")
    async def crash(request: Request) -> response.HTTPResponse:
        raise RuntimeError(SECRET)

    @app.get("/unauthorized")
    async def unauthorized(request: Request) -> response.HTTPResponse:
        raise Unauthorized("Sign in first.", scheme="Bearer", realm="zones")

    @app.get("/server-error")
    async def server_error(request: Request) -> response.HTTPResponse:
        raise SanicException(f"database at {SECRET}", status_code=503)

    @app.get("/text-error")
    async def text_error(request: Request) -> response.HTTPResponse:
        page = response.text("Order 7 does not exist.", status=404, headers={"X-Shard": "eu-1"})
        page.add_cookie("seen", "1")
        return page

    @app.get("/handled")
    async def handled(request: Request) -> response.HTTPResponse:
        raise LookupError("zone 7")

    @app.exception(LookupError)
    async def lookup_error(request: Request, exception: Exception) -> response.HTTPResponse:
        return response.json({"detail": f"No such {exception}."}, status=404)

    @app.get("/stream")
    async def stream(request: Request) -> None:
        streamed = await request.respond(content_type="application/octet-stream")
        await streamed.send(b"x" * 10)
        raise RuntimeError("the disk went away")

    async def stamp(request: Request, answered: BaseHTTPResponse) -> None:
        answered.headers["X-App"] = "zones"  # a response middleware of the app's own, changing it in place

    app.register_middleware(stamp, "response")

    assert problemdetails.install(app, catalog=catalog, **options) is app
    return app


class Client:
    """Sanic's test client (`server`: its own server on 127.0.0.1, one per request) or its ASGI one (`asgi`)."""

    def __init__(self, app: Sanic[Any, Any], kind: str) -> None:
        self.app, self.kind = app, kind

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        if self.kind == "server":
            send = getattr(self.app.test_client, method.lower())
            _, answered = send(path, headers=headers or {}, follow_redirects=False)
        else:
            send = getattr(self.app.asgi_client, method.lower())
            _, answered = asyncio.run(send(path, headers=headers or {}, follow_redirects=False))
        assert answered is not None
        return Answer(answered.status, {k.lower(): v for k, v in answered.headers.items()}, answered.content)


@pytest.fixture(params=["server", "asgi"])
def client(request: pytest.FixtureRequest, bundled: Catalog) -> Client:
    return Client(built(bundled), request.param)


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server logged, but for Sanic's start-up, shut-down and access lines."""
    return [
        record
        for record in served_records(caplog)
        if (record.name not in ("sanic.root", "sanic.access", "sanic.server") or record.levelno >= logging.ERROR)
        and "sanic_testing" not in record.pathname  # the test client's own
    ]


def test_a_raised_problem_through_sanics_own_test_clients(client: Client) -> None:
    response = client.request("GET", "/conflict", {"X-Request-ID": "req-sanic-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-sanic-1", ["a1"], "/conflict")


def test_the_happy_path_only_gains_a_request_id(client: Client) -> None:
    response = client.request("GET", "/ok", {"X-Request-ID": "req-sanic-2"})
    assert response.headers["x-app"] == "zones"  # the app's response middleware still runs beside the layer's
    # `current_request_id()` inside the handler is the one the response carries.
    assert (response.status_code, response.content, response.headers["x-request-id"]) == (
        200,
        b"req-sanic-2",
        "req-sanic-2",
    )


def test_a_crash_is_the_500_problem_logged_once(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = client.request("GET", "/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    (record,) = records(caplog)  # not also Sanic's "Exception occurred while handling uri"
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


def test_the_router_404_and_405_with_allow(client: Client) -> None:
    problem(client.request("GET", "/nope"), 404, "not-found")
    response = client.request("PUT", "/conflict")
    problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"


def test_sanics_exceptions_keep_their_headers_and_a_4xxs_message(client: Client) -> None:
    response = client.request("GET", "/unauthorized")
    assert problem(response, 401, "unauthorized")["detail"] == "Sign in first."
    assert response.headers["www-authenticate"] == 'Bearer realm="zones"'
    hidden = client.request("GET", "/server-error")
    assert "detail" not in problem(hidden, 503, "unavailable")
    assert SECRET.encode() not in hidden.content


def test_an_error_page_a_handler_returned_is_replaced_keeping_its_message(client: Client) -> None:
    response = client.request("GET", "/text-error")
    assert problem(response, 404, "not-found")["detail"] == "Order 7 does not exist."
    assert response.headers["x-shard"] == "eu-1"
    assert "seen=1" in response.headers["set-cookie"]


def test_the_apps_own_exception_handler_runs_and_its_page_is_replaced(client: Client) -> None:
    assert problem(client.request("GET", "/handled"), 404, "not-found")["detail"] == "No such zone 7."


def test_head_gets_gets_headers_and_no_body(client: Client) -> None:
    head, get = client.request("HEAD", "/head-too"), client.request("GET", "/head-too")
    assert (head.status_code, head.headers["content-type"], head.content) == (409, "application/problem+json", b"")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(client: Client) -> None:
    xml = client.request("GET", "/conflict", {"Accept": "application/problem+xml"})
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = client.request("GET", "/conflict", {"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")


def test_a_stream_failing_mid_body_is_logged_once(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # The connection is closed mid-body: the test client gets no whole response.
    with pytest.raises(ValueError, match="Request and response object expected"):
        Client(built(bundled), "server").request("GET", "/stream", {"X-Request-ID": "req-sanic-3"})
    (record,) = records(caplog)  # Sanic's own two records of it are dropped
    assert record.getMessage().startswith("exception after the response started; aborting: GET /stream")
    assert "request_id=req-sanic-3" in record.getMessage()


def test_an_error_handler_of_the_apps_own_still_renders_and_its_page_is_replaced(bundled: Catalog) -> None:
    seen: list[str] = []

    class Own(ErrorHandler):
        def default(self, request: Request, exception: Exception) -> response.HTTPResponse:
            seen.append(type(exception).__name__)
            return response.html("<h1>Sorry</h1>", status=500)

    body = problem(Client(built(bundled, Own()), "asgi").request("GET", "/conflict"), 409, "conflict")
    assert body["conflicts"] == ["a1"]  # the problem raised, not the page's
    assert seen == ["Conflict"]


def test_in_debug_mode_a_browser_gets_sanics_page(bundled: Catalog) -> None:
    from sanic.application.constants import Mode

    app = built(bundled)
    app.state.mode = Mode.DEBUG
    client = Client(app, "asgi")
    page = client.request("GET", "/crash", {"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert "RuntimeError" in page.text  # Sanic's traceback page
    problem(client.request("GET", "/crash"), 500, "internal")  # an API client still gets the problem


def test_options_reach_the_layer(bundled: Catalog) -> None:
    client = Client(built(bundled, instance=None, docs_path="/errors/"), "asgi")
    assert "instance" not in problem(client.request("GET", "/conflict"), 409, "conflict")
    page = client.request("GET", "/errors/conflict/")
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert page.headers["x-request-id"]
    french = client.request("GET", "/errors/conflict/", {"Accept-Language": "fr"})  # the language asked for
    assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")
    problem(client.request("GET", "/errors/no-such-page"), 404, "not-found")


def test_installing_twice_is_refused(bundled: Catalog) -> None:
    app = built(bundled)
    with pytest.raises(RuntimeError, match="installed in this Sanic already"):
        problemdetails.install(app, catalog=bundled)


def test_an_error_response_releases_its_exchange(bundled: Catalog) -> None:
    # What breaks each error's reference cycle (`Exchange.release`; the other layers' tests hold a weak
    # reference instead, but Sanic's test clients keep the last request they saw): once the response
    # is out, the exchange holds neither the request's facts nor the problem.
    exchanges: list[Any] = []
    app = built(bundled)

    @app.get("/released")
    async def released(request: Request) -> response.HTTPResponse:
        exchanges.append(request.ctx.problemdetails[EXCHANGE])
        raise bundled["conflict"]("taken")

    for kind in ("server", "asgi"):
        problem(Client(app, kind).request("GET", "/released"), 409, "conflict")
    assert [(exchange.request, exchange.problem) for exchange in exchanges] == [(None, None), (None, None)]
