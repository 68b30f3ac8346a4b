"""Django with the layer inside the project: the `MIDDLEWARE` entry with `PROBLEMDETAILS`, and `install(handler)`.

Whatever runs the project answers with problems: `django.test.Client` and
`AsyncClient` (settings only, no wrapper), the handler objects `install` puts
the middleware in, and `manage.py runserver` in a process of its own. Django's
settings are the example project's (`examples/frameworks/django_app.py`, which
configures them for the test process), overridden per test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

import problemdetails
from examples.frameworks import django_app
from examples.frameworks.common import CATALOG, EXCEPTION_MAP, SECRET
from problemdetails import ProblemMiddleware, WSGIProblemMiddleware, install
from tests.asgi import call
from tests.conftest import free_port
from tests.wsgi import serve

ROOT = Path(__file__).resolve().parents[1]
LAYER = "problemdetails.django.ProblemDetailsMiddleware"
GATEWAY = "examples.frameworks.django_app.Gateway"
OPTIONS: dict[str, Any] = {"catalog": CATALOG, "exception_map": EXCEPTION_MAP}
SETTING = {"CATALOG": CATALOG, "EXCEPTION_MAP": EXCEPTION_MAP}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
WAYS = ["client", "async-client", "install-wsgi", "install-asgi"]
SEEN: list[str | None] = []


class Handled:
    """A `process_exception` middleware of the project's own: it answers `LookupError` with its own body."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, LookupError):
            return JsonResponse({"detail": f"no such zone: {exc.args[0]}"}, status=404)
        return None


def missing_order(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no such order", status=404, content_type="text/plain")


def lookup(request: HttpRequest) -> HttpResponse:
    raise LookupError("z9")


def seen(request: HttpRequest) -> HttpResponse:
    SEEN.append(problemdetails.current_request_id())
    return JsonResponse({"ok": True})


urlpatterns = [
    *django_app.urlpatterns,
    path("orders/7", missing_order),
    path("lookup", lookup),
    path("seen", seen),
]


@dataclass
class Got:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@contextmanager
def project(middleware: list[str], **settings: Any) -> Iterator[None]:
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=middleware, **settings):
        yield


def fetch(way: str, route: str, method: str = "GET", headers: dict[str, str] | None = None, **settings: Any) -> Got:
    """One request, one of the ways: Django's test clients on the settings, or the handler `install` went into."""
    headers = headers or {}
    if way in ("client", "async-client"):
        with project([LAYER, GATEWAY, f"{__name__}.Handled"], PROBLEMDETAILS=SETTING, **settings):
            # Django's test clients re-raise a crash (what took Django's crash path) unless told not to.
            if way == "client":
                response = Client(raise_request_exception=False).generic(method, route, headers=headers)
            else:
                client = AsyncClient(raise_request_exception=False)
                response = asyncio.run(client.generic(method, route, headers=headers))
        return Got(response.status_code, {k.lower(): v for k, v in response.items()}, response.content)
    with project([GATEWAY, f"{__name__}.Handled"], **settings):
        if way == "install-wsgi":
            served = serve(install(WSGIHandler(), **OPTIONS), method, route, headers, validate=False)
            return Got(served.code, served.headers, served.body)
        exchange = call(install(ASGIHandler(), **OPTIONS), method, route, headers)
        return Got(exchange.status, exchange.headers, exchange.body)


def problem(got: Got, status: int, code: str) -> dict[str, Any]:
    assert got.status == status, got.body
    assert got.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = got.json()
    assert got.headers["content-length"] == str(len(got.body))
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == got.headers["x-request-id"]
    return body


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("way", WAYS)
def test_a_raised_problem_is_answered_inside_the_project(way: str) -> None:
    body = problem(fetch(way, "/conflict"), 409, "conflict")
    assert (body["detail"], body["conflicts"], body["instance"]) == (
        "Zone example.com already exists.",
        ["a1"],
        "/conflict",
    )
    problem(fetch(way, "/class"), 410, "gone")
    problem(fetch(way, "/mapped"), 409, "conflict")
    problem(fetch(way, "/from-middleware"), 403, "forbidden")  # raised by the project's own middleware


@pytest.mark.parametrize("client", ["client", "async-client"])
def test_djangos_test_clients_get_a_problem_a_middleware_raised_not_the_exception(client: str) -> None:
    """The test clients' default (`raise_request_exception=True`, pytest-django's `client`) re-raises only crashes."""
    with project([LAYER, GATEWAY, f"{__name__}.Handled"], PROBLEMDETAILS=SETTING):
        if client == "client":
            response = Client().get("/from-middleware")
        else:
            response = asyncio.run(AsyncClient().get("/from-middleware"))
        got = Got(response.status_code, {k.lower(): v for k, v in response.items()}, response.content)
        problem(got, 403, "forbidden")
        with pytest.raises(RuntimeError, match="hunter2"):  # a crash is still re-raised: the client's choice
            Client().get("/crash")


@pytest.mark.parametrize("way", WAYS)
def test_a_crash_is_logged_once_and_leaks_nothing(way: str, caplog: pytest.LogCaptureFixture) -> None:
    got = fetch(way, "/crash")
    body = problem(got, 500, "internal")
    assert SECRET not in got.body.decode()
    assert "detail" not in body
    (record,) = errors(caplog)  # not also Django's "Internal Server Error" from `django.request`
    assert record.name == "problemdetails"
    assert record.exc_info is not None
    assert record.request_id == got.headers["x-request-id"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("way", WAYS)
def test_router_http_errors_and_rendered_pages_become_problems(way: str) -> None:
    problem(fetch(way, "/nope"), 404, "not-found")
    not_allowed = fetch(way, "/conflict", "POST")
    problem(not_allowed, 405, "method-not-allowed")
    assert not_allowed.headers["allow"] == "GET"
    problem(fetch(way, "/http-error"), 403, "forbidden")  # Django's PermissionDenied
    throttled = fetch(way, "/drf/http-error")  # DRF's Throttled, through its exception handler setting
    problem(throttled, 429, "rate-limited")
    assert throttled.headers["retry-after"] == "7"
    assert problem(fetch(way, "/orders/7"), 404, "not-found")["detail"] == "no such order"


@pytest.mark.parametrize("way", WAYS)
def test_head_negotiation_and_the_happy_path(way: str) -> None:
    get, head = fetch(way, "/class"), fetch(way, "/class", "HEAD")
    assert (head.status, head.body) == (410, b"")
    assert head.headers["content-length"] == get.headers["content-length"]
    xml = fetch(way, "/conflict", headers={"Accept": "application/problem+xml"})
    assert (xml.status, xml.headers["content-type"]) == (409, "application/problem+xml")
    assert b"<code>conflict</code>" in xml.body
    page = fetch(way, "/conflict", headers=BROWSER)
    assert page.headers["content-type"].startswith("text/html")
    assert b"example.com already exists" in page.body
    ok = fetch(way, "/ok", headers={"X-Request-ID": "req-42"})
    assert (ok.status, ok.json(), ok.headers["x-request-id"]) == (200, {"ok": True}, "req-42")
    assert fetch(way, "/ok", headers={"X-Request-ID": "bad id\x7f"}).headers["x-request-id"] != "bad id\x7f"


@pytest.mark.parametrize("way", WAYS)
def test_the_request_id_is_current_inside_the_view(way: str) -> None:
    SEEN.clear()
    got = fetch(way, "/seen")
    assert [got.headers["x-request-id"]] == SEEN


@pytest.mark.parametrize("way", WAYS)
def test_drf_through_the_layer_inside(way: str) -> None:
    problem(fetch(way, "/drf/conflict"), 409, "conflict")
    problem(fetch(way, "/drf/crash"), 500, "internal")


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        ("fr", ["Longueur minimale : 3.", "Doit être supérieur ou égal à 1.", "Au plus 2 chiffres après la virgule."]),
        ("en", ["Ensure this field has at least 3 characters.", "Ensure this value is greater than or equal to 1."]),
    ],
)
def test_drf_validation_items_carry_the_fields_limits_in_the_language_asked_for(
    language: str, messages: list[str]
) -> None:
    """DRF keeps only a code; the limit it names is read off the serializer's field, nested or in a list."""
    order = {"reference": "ab", "lines": [{"qty": 0, "price": "1.234"}], "tags": ["toolong"]}
    with project([LAYER, GATEWAY], PROBLEMDETAILS=SETTING):
        response = Client().post(
            "/drf/orders", order, content_type="application/json", headers={"Accept-Language": language}
        )
    body = json.loads(response.content)
    assert (response.status_code, body["code"], response["Content-Language"]) == (400, "bad-request", language)
    items = {item["pointer"]: item for item in body["errors"]}
    assert {pointer: (item["code"], item.get("params")) for pointer, item in items.items()} == {
        "#/reference": ("min_length", {"min_length": 3}),
        "#/lines/0/qty": ("min_value", {"min_value": 1}),
        "#/lines/0/price": ("max_decimal_places", {"max_decimal_places": 2}),
        "#/tags/0": ("max_length", {"max_length": 4}),  # the list's child field
        "#/note": ("required", None),  # `required` is a flag of the field, not a limit
    }
    details = [item["detail"] for item in items.values()]
    assert details[: len(messages)] == messages
    if language == "fr":
        assert details[3:] == ["Longueur maximale : 4.", "Ce champ est obligatoire."]


@pytest.mark.parametrize("way", WAYS)
def test_a_process_exception_middleware_of_the_project_still_runs(way: str) -> None:
    body = problem(fetch(way, "/lookup"), 404, "not-found")
    assert body["detail"] == "no such zone: z9"  # its answer, rewritten, keeping its message


ROUTES = ["/ok", "/conflict", "/crash", "/mapped", "/nope", "/http-error", "/orders/7", "/drf/conflict"]


def test_the_default_test_client_reraises_only_what_took_djangos_crash_path() -> None:
    with project([LAYER], PROBLEMDETAILS=SETTING):
        client = Client()  # raise_request_exception=True: Django's default
        assert client.get("/conflict").status_code == 409  # answered by the layer: nothing to re-raise
        assert client.get("/drf/conflict").status_code == 409
        with pytest.raises(RuntimeError, match="hunter2"):
            client.get("/crash")


@pytest.mark.parametrize("route", ROUTES)
def test_the_settings_and_install_answer_alike(route: str) -> None:
    answers = []
    for way in WAYS:
        got = fetch(way, route, headers={"X-Request-ID": "same"})
        kept = {k: v for k, v in got.headers.items() if k not in ("content-length",)}
        problem_headers = {k: kept[k] for k in ("content-type", "x-request-id", "vary", "cache-control") if k in kept}
        answers.append((got.status, problem_headers, got.body))
    assert all(answer == answers[0] for answer in answers), answers


def test_installed_and_wrapped_decides_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "problemdetails")
    with project([LAYER, GATEWAY], PROBLEMDETAILS=SETTING):
        wsgi = WSGIProblemMiddleware(WSGIHandler(), **OPTIONS)
        asgi = ProblemMiddleware(ASGIHandler(), **OPTIONS)
        for route, status in [("/crash", 500), ("/conflict", 409), ("/nope", 404), ("/from-middleware", 403)]:
            caplog.clear()
            served = serve(wsgi, "GET", route, {"Accept": "text/html"}, validate=False)
            exchange = call(asgi, "GET", route, {"Accept": "text/html"})
            assert (served.code, exchange.status) == (status, status)
            assert served.headers["content-type"].startswith("text/html")
            records = [record for record in caplog.records if record.name == "problemdetails"]
            assert len(records) == 2, [record.getMessage() for record in records]  # one per request
            assert not [r for r in caplog.records if r.name.startswith("django") and r.levelno >= logging.ERROR]
            assert {r.request_id for r in records} == {served.headers["x-request-id"], exchange.headers["x-request-id"]}  # type: ignore[attr-defined]


def test_a_guard_outside_keeps_its_request_id() -> None:
    with project([LAYER, GATEWAY], PROBLEMDETAILS=SETTING):
        wsgi = WSGIProblemMiddleware(WSGIHandler(), **OPTIONS)
        for route in ["/ok", "/conflict", "/nope"]:
            served = serve(wsgi, "GET", route, validate=False)
            assert len(served.headers["x-request-id"]) == 32
            if served.code >= 400:
                assert served.json()["request_id"] == served.headers["x-request-id"]


@pytest.mark.parametrize("guard", ["wsgi", "asgi"])
def test_a_guard_outside_the_project_sends_djangos_debug_page_as_it_is(
    guard: str, caplog: pytest.LogCaptureFixture
) -> None:
    with project([LAYER, GATEWAY], PROBLEMDETAILS=SETTING, DEBUG=True):
        if guard == "wsgi":
            served = serve(WSGIProblemMiddleware(WSGIHandler(), **OPTIONS), "GET", "/crash", BROWSER, validate=False)
            page = Got(served.code, served.headers, served.body)
        else:
            exchange = call(ProblemMiddleware(ASGIHandler(), **OPTIONS), "GET", "/crash", BROWSER)
            page = Got(exchange.status, exchange.headers, exchange.body)
    assert (page.status, page.headers["content-type"][:9]) == (500, "text/html")
    assert b"Traceback" in page.body  # Django's own debug page, not the problem's HTML
    assert len(page.headers["x-request-id"]) == 32
    assert len(errors(caplog)) == 1


@pytest.mark.parametrize("client", ["client", "async-client"])
def test_django_debug_gives_a_browser_the_technical_500_page(client: str, caplog: pytest.LogCaptureFixture) -> None:
    page = fetch(client, "/crash", headers=BROWSER, DEBUG=True)
    assert page.status == 500
    assert page.headers["content-type"].startswith("text/html")
    assert b"Traceback" in page.body  # Django's own debug page
    assert b"RuntimeError" in page.body
    assert len(page.headers["x-request-id"]) == 32
    assert len(errors(caplog)) == 1
    problem(fetch(client, "/crash", headers={"Accept": "application/json"}, DEBUG=True), 500, "internal")
    problem(fetch(client, "/nope", headers=BROWSER | {"Accept": "application/json"}, DEBUG=True), 404, "not-found")


def test_listing_the_middleware_twice_is_an_error() -> None:
    with project([LAYER, LAYER], PROBLEMDETAILS=SETTING), pytest.raises(ImproperlyConfigured, match="twice"):
        WSGIHandler()


def test_installing_twice_is_an_error() -> None:
    with project([GATEWAY]):
        handler = install(WSGIHandler(), **OPTIONS)
        with pytest.raises(RuntimeError, match="installed"):
            install(handler, **OPTIONS)
    with project([LAYER], PROBLEMDETAILS=SETTING), pytest.raises(RuntimeError, match="installed"):
        install(ASGIHandler(), **OPTIONS)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (None, "PROBLEMDETAILS setting"),
        ({}, "PROBLEMDETAILS setting"),
        ({**SETTING, "EXCEPTION_MAPS": {}}, "EXCEPTION_MAPS"),
    ],
)
def test_a_missing_or_wrong_setting_is_an_error(setting: dict[str, Any] | None, message: str) -> None:
    with project([LAYER], PROBLEMDETAILS=setting), pytest.raises(ImproperlyConfigured, match=message):
        WSGIHandler()


def test_the_catalog_setting_takes_paths_and_options_take_effect() -> None:
    setting = {"CATALOG": [str(ROOT / "catalog")], "DOCS_PATH": "/errors/", "DEBUG": True}
    with project([LAYER], PROBLEMDETAILS=setting):
        client = Client(raise_request_exception=False)
        crash = client.get("/crash")
        assert crash.json()["debug"]["exception"] == "builtins.RuntimeError"  # the middleware's debug member
        docs = client.get("/errors/")
        assert docs.status_code == 200
        assert "x-request-id" in docs.headers
        french = client.get("/errors/conflict/", headers={"Accept-Language": "fr"})  # the language asked for
        assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")


def test_runserver_serves_the_project_with_no_wsgi_edit(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "examples.frameworks.django_installed", "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "runserver.log").open("wb")
    command = [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                ok = httpx.get(f"{base}/ok", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "runserver.log").read_text()
                assert time.monotonic() < deadline, "runserver did not answer in time"
                time.sleep(0.1)
        assert ok.status_code == 200
        assert len(ok.headers["x-request-id"]) == 32
        got = {route: httpx.get(f"{base}{route}", timeout=5) for route in ["/conflict", "/crash", "/mapped", "/nope"]}
        for route, (status, code) in {
            "/conflict": (409, "conflict"),
            "/crash": (500, "internal"),
            "/mapped": (409, "conflict"),
            "/nope": (404, "not-found"),
        }.items():
            response = got[route]
            assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
            assert response.json()["code"] == code
            assert response.json()["request_id"] == response.headers["x-request-id"]
        assert SECRET not in got["/crash"].text
        head = httpx.head(f"{base}/conflict", timeout=5)
        assert (head.status_code, head.content, head.headers["allow"]) == (405, b"", "GET")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
    logged = (tmp_path / "runserver.log").read_text()
    assert logged.count("Traceback") == 1  # the middleware's record, not also Django's
    assert "500 internal: GET /crash" in logged
