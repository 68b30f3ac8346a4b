"""aiohttp with problem details inside the app (`_handovers/aiohttp.py`), through aiohttp's own test client.

Its convention (DESIGN's table) is `web.Application(middlewares=[problemdetails.aiohttp.problem_middleware(...)])`;
`problemdetails.install(app, ...)` does the same and hooks `on_response_prepare`. The contract under aiohttp's
own server (`python -m aiohttp.web`) is `tests/acceptance/test_frameworks.py`; these run `aiohttp.test_utils.
TestClient` (a real server on 127.0.0.1), both ways in, and the cases of installing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import problemdetails
from problemdetails import Catalog
from problemdetails._exchange import EXCHANGE
from problemdetails._handovers.aiohttp import scope_key
from problemdetails.aiohttp import problem_middleware
from tests.conftest import Answer, problem
from tests.conftest import served_records as all_served_records

SECRET = "password=hunter2"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def routes(catalog: Catalog) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/ok")
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text=problemdetails.current_request_id() or "")

    @table.get("/conflict")
    async def conflict(request: web.Request) -> web.Response:
        raise catalog["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    @table.get("/crash")
    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError(SECRET)

    @table.get("/unauthorized")
    async def unauthorized(request: web.Request) -> web.Response:
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="zones"'})

    @table.get("/not-found")
    async def not_found(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()  # aiohttp's default text ("404: Not Found") is no message

    @table.get("/text-error")
    async def text_error(request: web.Request) -> web.Response:
        response = web.Response(status=404, text="Order 7 does not exist.", headers={"X-Shard": "eu-1"})
        response.set_cookie("seen", "1")
        return response

    @table.get("/unicode-header")
    async def unicode_header(request: web.Request) -> web.Response:
        # aiohttp takes any text as a header value; an HTTP field value is octets (RFC 9110 §5.5).
        return web.Response(status=404, text="No such café.", headers={"X-Note": "café €", "X-Shard": "eu-1"})

    @table.get("/redirect")
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    @table.get("/stream")
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"x" * 10)
        raise RuntimeError("the disk went away")

    return table


@web.middleware
async def refusing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A middleware of the app's own, after the layer."""
    if request.path == "/refused":
        raise web.HTTPForbidden(text="Refused by policy.")
    return await handler(request)


def conventional(catalog: Catalog, **options: Any) -> web.Application:
    app = web.Application(middlewares=[problem_middleware(catalog=catalog, **options), refusing])
    app.add_routes(routes(catalog))
    return app


def installed(catalog: Catalog, **options: Any) -> web.Application:
    app = web.Application(middlewares=[refusing])
    app.add_routes(routes(catalog))
    assert problemdetails.install(app, catalog=catalog, **options) is app
    return app


class Client:
    """aiohttp's own test client on an app (its test server on 127.0.0.1), each call run on one event loop."""

    def __init__(self, app: web.Application) -> None:
        async def start() -> TestClient[web.Request, web.Application]:
            client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
            await client.start_server()
            return client

        self.runner = asyncio.Runner()
        self.client = self.runner.run(start())

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
        async def send() -> Answer:
            response = await self.client.request(method, path, headers=headers, allow_redirects=False)
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, await response.read())

        return self.runner.run(send())

    def close(self) -> None:
        self.runner.run(self.client.close())
        self.runner.close()


@pytest.fixture(params=["convention", "install"])
def client(request: pytest.FixtureRequest, bundled: Catalog) -> Iterator[Client]:
    made = Client((conventional if request.param == "convention" else installed)(bundled))
    yield made
    made.close()


def served_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server logged, but for aiohttp's access log (a line per request, kept)."""
    return [record for record in all_served_records(caplog) if record.name != "aiohttp.access"]


def test_a_raised_problem_through_aiohttps_own_test_client(client: Client) -> None:
    response = client.request("GET", "/conflict", {"X-Request-ID": "req-aiohttp-1"})
    body = problem(response, 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-aiohttp-1", ["a1"], "/conflict")


def test_the_happy_path_only_gains_a_request_id(client: Client) -> None:
    response = client.request("GET", "/ok", {"X-Request-ID": "req-aiohttp-2"})
    # `current_request_id()` inside the handler is the one the response carries.
    assert (response.status_code, response.content, response.headers["x-request-id"]) == (
        200,
        b"req-aiohttp-2",
        "req-aiohttp-2",
    )


def test_a_crash_is_the_500_problem_logged_once(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = client.request("GET", "/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    (record,) = served_records(caplog)  # not also aiohttp's "Error handling request"
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


def test_the_router_404_and_405_with_allow(client: Client) -> None:
    problem(client.request("GET", "/nope"), 404, "not-found")
    response = client.request("POST", "/conflict")
    problem(response, 405, "method-not-allowed")
    assert "GET" in [method.strip() for method in response.headers["allow"].split(",")]


def test_aiohttps_http_errors_keep_their_headers_and_their_message(client: Client) -> None:
    response = client.request("GET", "/unauthorized")
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="zones"'
    assert "detail" not in problem(client.request("GET", "/not-found"), 404, "not-found")
    # Raised by a middleware of the app's, after the layer.
    assert problem(client.request("GET", "/refused"), 403, "forbidden")["detail"] == "Refused by policy."


def test_an_error_page_a_handler_returned_is_replaced_keeping_its_message(client: Client) -> None:
    response = client.request("GET", "/text-error")
    assert problem(response, 404, "not-found")["detail"] == "Order 7 does not exist."
    assert response.headers["x-shard"] == "eu-1"
    assert "seen=1" in response.headers["set-cookie"]


def test_an_error_page_with_a_header_no_http_field_can_hold_is_still_replaced(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.request("GET", "/unicode-header")
    assert problem(response, 404, "not-found")["detail"] == "No such café."
    assert "x-note" not in response.headers  # dropped, and said so
    assert response.headers["x-shard"] == "eu-1"
    assert any(record.getMessage() == "dropped header 'X-Note': not a valid HTTP field" for record in caplog.records)


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


def test_a_stream_failing_mid_body_is_logged_once(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(Exception, match="payload is not completed"):
        client.request("GET", "/stream", {"X-Request-ID": "req-aiohttp-3"})
    (record,) = served_records(caplog)  # aiohttp's own "Error handling request" is dropped
    assert record.getMessage().startswith("exception after the response started; aborting: GET /stream")


def test_installed_a_prepared_stream_carries_the_request_id(bundled: Catalog) -> None:
    """`install` hooks `on_response_prepare`: a response the handler prepared itself has the id too."""
    seen: list[str] = []

    async def check() -> None:
        async with (
            TestClient(TestServer(installed(bundled))) as test_client,
            test_client.get("/stream", headers={"X-Request-ID": "req-aiohttp-4"}) as response,
        ):
            seen.append(response.headers["X-Request-ID"])
            with pytest.raises(Exception, match="payload is not completed"):
                await response.read()

    asyncio.run(check())
    assert seen == ["req-aiohttp-4"]


def test_options_reach_the_layer(bundled: Catalog) -> None:
    for build in (conventional, installed):
        client = Client(build(bundled, instance=None, docs_path="/errors/"))
        try:
            assert "instance" not in problem(client.request("GET", "/conflict"), 409, "conflict")
            page = client.request("GET", "/errors/conflict/")
            assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
            assert page.headers["x-request-id"]
            french = client.request("GET", "/errors/conflict/", {"Accept-Language": "fr"})  # the language asked for
            assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")
        finally:
            client.close()


def test_installing_twice_or_into_a_started_app_is_refused(bundled: Catalog) -> None:
    app = installed(bundled)
    with pytest.raises(RuntimeError, match="installed in this Application already"):
        problemdetails.install(app, catalog=bundled)
    started = web.Application()
    started.freeze()
    with pytest.raises(RuntimeError, match="before the Application starts"):
        problemdetails.install(started, catalog=bundled)


def test_a_sub_application_with_its_own_layer_answers_once(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    parent = installed(bundled)
    parent.add_subapp("/v2", installed(bundled))
    caplog.set_level(logging.INFO)
    client = Client(parent)
    try:
        body = problem(client.request("GET", "/v2/conflict"), 409, "conflict")
    finally:
        client.close()
    assert body["instance"] == "/v2/conflict"
    assert len(served_records(caplog)) == 1  # decided and logged once


def test_an_error_response_leaves_no_reference_cycle(bundled: Catalog) -> None:
    # As the ASGI and WSGI layers' (tests/test_asgi.py): with the collector off, a request's
    # exchange is freed once aiohttp is done with the request.
    exchanges: list[weakref.ref[Any]] = []

    async def conflict(request: web.Request) -> web.Response:
        exchanges.append(weakref.ref(request[scope_key()][EXCHANGE]))
        raise bundled["conflict"]("taken")

    app = installed(bundled)
    app.router.add_get("/weak", conflict)
    client = Client(app)
    gc.disable()
    try:
        problem(client.request("GET", "/weak"), 409, "conflict")
        client.close()
        assert len(exchanges) == 1
        assert exchanges[0]() is None
    finally:
        gc.enable()
