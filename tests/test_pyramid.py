"""Pyramid with `config.include("problemdetails.pyramid")` (`problemdetails/pyramid.py`), through WebTest.

Its convention (DESIGN's table) is the include with the `problemdetails.catalog` setting. The contract
under waitress and gunicorn is `tests/acceptance/test_frameworks.py`; these drive WebTest's `TestApp`
(Pyramid's documented test client, which also checks the app against PEP 3333).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.httpexceptions import HTTPFound, HTTPNotFound, HTTPUnauthorized
from pyramid.request import Request
from pyramid.response import Response
from webtest import TestApp

import problemdetails
from problemdetails import Catalog
from problemdetails._exchange import EXCHANGE
from tests.conftest import BUNDLED, Answer, problem, served_records

SECRET = "password=hunter2"


class Teapot(Exception):
    """An exception the app answers with an exception view of its own."""


def chunks() -> Iterator[bytes]:
    yield b"x" * 10
    raise RuntimeError("the disk went away")


def built(bundled: Catalog, *, own_catch_all: bool = False, settings: dict[str, str] | None = None) -> TestApp:
    exchanges: list[Any] = []

    def ok(request: Request) -> Response:
        return Response(problemdetails.current_request_id() or "")

    def conflict(request: Request) -> Response:
        exchanges.append(request.environ[EXCHANGE])
        raise bundled["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    def crash(request: Request) -> Response:
        raise RuntimeError(SECRET)

    def unauthorized(request: Request) -> Response:
        raise HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="zones"'})

    def missing(request: Request) -> Response:
        raise HTTPNotFound("the Zone view found no row in table zones")  # Pyramid's detail: the developer's

    def page(request: Request) -> Response:
        response = Response("Order 7 does not exist.", status=404, content_type="text/plain")
        response.headers["X-Shard"] = "eu-1"
        return response

    def teapot(request: Request) -> Response:
        raise Teapot()

    def own_teapot(exc: Teapot, request: Request) -> Response:
        return Response("Short and stout.", status=418, content_type="text/plain")

    def redirect(request: Request) -> Response:
        raise HTTPFound("/ok")

    def stream(request: Request) -> Response:
        return Response(app_iter=chunks(), content_type="application/octet-stream")

    with Configurator(settings={"problemdetails.catalog": str(BUNDLED), **(settings or {})}) as config:
        config.include("problemdetails.pyramid")
        for name, view in [
            ("ok", ok),
            ("conflict", conflict),
            ("crash", crash),
            ("unauthorized", unauthorized),
            ("missing", missing),
            ("page", page),
            ("teapot", teapot),
            ("redirect", redirect),
            ("stream", stream),
        ]:
            config.add_route(name, f"/{name}")
            config.add_view(view, route_name=name, request_method="GET")
        config.add_exception_view(own_teapot, context=Teapot)
        if own_catch_all:
            config.add_exception_view(lambda exc, request: Response("oops", status=500), context=Exception)
        app = TestApp(config.make_wsgi_app())
    app.exchanges = exchanges
    return app


def request(app: TestApp, method: str, path: str, **headers: str) -> Answer:
    response = app.request(path, method=method, headers=headers, expect_errors=True)
    return Answer(response.status_code, {k.lower(): v for k, v in response.headerlist}, response.body)


@pytest.fixture
def app(bundled: Catalog) -> TestApp:
    return built(bundled)


def test_a_raised_problem_through_webtest(app: TestApp) -> None:
    body = problem(request(app, "GET", "/conflict", X_Request_ID="req-pyramid-1"), 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-pyramid-1", ["a1"], "/conflict")


def test_the_happy_path_only_gains_a_request_id(app: TestApp) -> None:
    response = request(app, "GET", "/ok", X_Request_ID="req-pyramid-2")
    assert (response.status_code, response.content, response.headers["x-request-id"]) == (
        200,
        b"req-pyramid-2",
        "req-pyramid-2",
    )


def test_a_crash_is_the_500_problem_logged_once(app: TestApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = request(app, "GET", "/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    (record,) = served_records(caplog)
    assert (record.name, record.levelno, record.request_id) == ("problemdetails", logging.ERROR, body["request_id"])  # type: ignore[attr-defined]


def test_not_found_and_a_predicate_mismatch_are_404(app: TestApp) -> None:
    problem(request(app, "GET", "/nope"), 404, "not-found")
    problem(request(app, "POST", "/conflict"), 404, "not-found")  # Pyramid's `PredicateMismatch`


def test_pyramids_http_errors_keep_their_headers_not_their_detail(app: TestApp) -> None:
    response = request(app, "GET", "/unauthorized")
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="zones"'
    missing = request(app, "GET", "/missing")
    assert "detail" not in problem(missing, 404, "not-found")
    assert b"table zones" not in missing.content


def test_a_page_a_view_returned_is_replaced_keeping_its_message(app: TestApp) -> None:
    response = request(app, "GET", "/page")
    assert problem(response, 404, "not-found")["detail"] == "Order 7 does not exist."
    assert response.headers["x-shard"] == "eu-1"


def test_the_apps_own_exception_views_win(bundled: Catalog) -> None:
    app = built(bundled, own_catch_all=True)
    # Its view for `Teapot` answers; its page (an error status) is replaced like any other, message kept.
    teapot = request(app, "GET", "/teapot")
    assert (teapot.status_code, teapot.json()["detail"]) == (418, "Short and stout.")
    # Its own view for `Exception` wins over the include's: the crash is its page's, replaced (no message).
    problem(request(app, "GET", "/crash"), 500, "internal")


def test_a_redirect_passes_with_a_request_id(app: TestApp) -> None:
    response = request(app, "GET", "/redirect")
    assert (response.status_code, response.headers["location"]) == (302, "http://localhost/ok")
    assert response.headers["x-request-id"]


def test_head_gets_gets_headers_and_no_body(app: TestApp) -> None:
    head, get = request(app, "HEAD", "/conflict"), request(app, "GET", "/conflict")
    assert (head.status_code, head.headers["content-type"], head.content) == (409, "application/problem+json", b"")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(app: TestApp) -> None:
    xml = request(app, "GET", "/conflict", Accept="application/problem+xml")
    assert (xml.status_code, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = request(app, "GET", "/conflict", Accept="text/html")
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")


def test_a_stream_failing_mid_body_is_logged(app: TestApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(RuntimeError, match="the disk went away"):  # re-raised to the server, which aborts
        app.get("/stream", headers={"X-Request-ID": "req-pyramid-3"})
    (record,) = served_records(caplog)
    assert record.getMessage().startswith("exception after the response started; aborting: GET /stream")


def test_settings_reach_the_layer(bundled: Catalog) -> None:
    settings = {"problemdetails.docs_path": "/errors/", "problemdetails.debug": "false"}
    app = built(bundled, settings=settings)
    page = request(app, "GET", "/errors/conflict/")
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert page.headers["x-request-id"]
    french = request(app, "GET", "/errors/conflict/", **{"Accept-Language": "fr"})  # the language asked for
    # WebOb makes a relative `Location` absolute: the same page, in French.
    assert (french.status_code, urljoin("http://localhost/errors/conflict/", french.headers["location"])) == (
        302,
        "http://localhost/errors/fr/conflict/",
    )


def test_the_include_needs_the_catalog_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"problemdetails\.catalog"), Configurator(settings={}) as config:
        config.include("problemdetails.pyramid")


def test_an_error_response_releases_its_exchange(app: TestApp) -> None:
    # What breaks each error's reference cycle through the layer (`Exchange.release`). Pyramid keeps one of
    # its own per exception view (the request's `exc_info`, whose frames hold the request): the exchange
    # in its environ waits for the collector there, but holds neither the request's facts nor the problem.
    problem(request(app, "GET", "/conflict"), 409, "conflict")
    (exchange,) = app.exchanges
    assert (exchange.request, exchange.problem) == (None, None)


def test_a_setting_the_layer_does_not_know_is_refused() -> None:
    settings = {"problemdetails.catalog": str(BUNDLED), "problemdetails.docs_pth": "/errors/"}
    refused = pytest.raises(ConfigurationError, match=r"no such setting problemdetails\.docs_pth")
    with refused, Configurator(settings=settings) as config:
        config.include("problemdetails.pyramid")
