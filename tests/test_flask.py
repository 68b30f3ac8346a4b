"""Flask and Quart with the layer inside the app object: `install(app)` and the `ProblemDetails` extension.

Whatever runs the app object answers with problems: its own test client
(`app.test_client()`), werkzeug's dev server that `flask run` starts, and
hypercorn, which `quart run` starts. The app's own error handlers keep
running, a crash is logged once, and in debug mode a browser gets the
framework's own debug page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import flask
import httpx
import pytest
import quart
from werkzeug.exceptions import TooManyRequests

from problemdetails import Catalog, ProblemMiddleware, WSGIProblemMiddleware, install
from problemdetails.flask import ProblemDetails
from tests.asgi import call
from tests.conftest import free_port
from tests.wsgi import serve

SECRET = "password=hunter2 in /srv/app/settings.py"
FRAMEWORKS = ["flask", "quart"]
WAYS = ["install", "extension", "factory"]
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class ZoneLocked(Exception):
    """An exception of the app's own, mapped to a slug."""


def routed(framework: str, catalog: Catalog) -> Any:
    """A Flask or Quart app with the routes of the contract, nothing installed yet."""
    app: Any = flask.Flask("install-test") if framework == "flask" else quart.Quart("install-test")

    def ok() -> dict[str, bool]:
        return {"ok": True}

    def conflict() -> None:
        raise catalog["conflict"](detail="Zone example.com already exists.", conflicts=["a1"])

    def crash() -> None:
        raise RuntimeError(SECRET)

    def missing_order() -> tuple[str, int]:
        return "no such order", 404  # Flask's and Quart's default mimetype: text/html

    def http_error() -> None:
        raise TooManyRequests(retry_after=7)

    def mapped() -> None:
        raise ZoneLocked("zone z1 is locked")

    def lookup() -> None:
        raise LookupError("zone z9")

    views: list[tuple[str, Callable[[], Any]]] = [
        ("/ok", ok),
        ("/conflict", conflict),
        ("/crash", crash),
        ("/orders/7", missing_order),
        ("/http-error", http_error),
        ("/mapped", mapped),
        ("/lookup", lookup),
    ]
    for rule, view in views:
        app.add_url_rule(rule, endpoint=view.__name__, view_func=view if framework == "flask" else asynchronous(view))
    return app


def asynchronous(view: Callable[[], Any]) -> Callable[[], Any]:
    async def run() -> Any:
        return view()

    return run


def installed(framework: str, catalog: Catalog, way: str = "install", app: Any = None) -> Any:
    """The app with the layer inside it, one of the three documented ways."""
    app = routed(framework, catalog) if app is None else app
    options: dict[str, Any] = {"exception_map": {ZoneLocked: "conflict"}}
    if way == "install":
        return install(app, catalog=catalog, **options)
    if way == "extension":
        ProblemDetails(app, catalog=catalog, **options)
        return app
    extension = ProblemDetails(catalog=catalog, **options)  # an app factory's module-level extension
    extension.init_app(app)
    return app


@dataclass
class Got:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(app: Any, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> Got:
    """One request through the framework's own test client, on the app object itself."""
    if isinstance(app, flask.Flask):
        response = app.test_client().open(path, method=method, headers=headers or {})
        return Got(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_data())

    async def through_quart() -> Got:
        response = await app.test_client().open(path, method=method, headers=headers or {})
        body = await response.get_data()
        return Got(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)

    return asyncio.run(through_quart())


def problem(got: Got, status: int, code: str) -> dict[str, Any]:
    assert got.status == status, got.body
    assert got.headers["content-type"] == "application/problem+json"
    assert got.headers["content-length"] == str(len(got.body))
    body: dict[str, Any] = got.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == got.headers["x-request-id"]
    return body


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


# -- the framework's own test client, on the app object


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_raised_problem_through_the_apps_own_test_client(framework: str, way: str, bundled: Catalog) -> None:
    app = installed(framework, bundled, way)
    got = request(app, "/conflict", headers={"X-Request-ID": "req-install-1"})
    body = problem(got, 409, "conflict")
    assert (body["request_id"], body["instance"], body["conflicts"]) == ("req-install-1", "/conflict", ["a1"])
    assert got.headers["cache-control"] == "no-store"
    problem(request(app, "/mapped"), 409, "conflict")


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_crash_is_logged_once_and_leaks_nothing(
    framework: str, way: str, bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    app = installed(framework, bundled, way)
    got = request(app, "/crash")
    body = problem(got, 500, "internal")
    assert set(body) == {"type", "title", "status", "instance", "code", "request_id"}
    for leak in (b"hunter2", b"RuntimeError", b"Traceback"):
        assert leak not in got.body
    (record,) = errors(caplog)  # not also Flask's or Quart's own "Exception on ..."
    assert record.name == "problemdetails"
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])
    assert body["request_id"] in record.getMessage()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_router_errors_http_errors_and_text_pages(framework: str, bundled: Catalog) -> None:
    app = installed(framework, bundled)
    problem(request(app, "/nope"), 404, "not-found")
    not_allowed = request(app, "/conflict", method="POST")
    problem(not_allowed, 405, "method-not-allowed")
    assert "GET" in [method.strip() for method in not_allowed.headers["allow"].split(",")]
    limited = request(app, "/http-error")
    problem(limited, 429, "rate-limited")
    assert limited.headers["retry-after"] == "7"
    assert problem(request(app, "/orders/7"), 404, "not-found")["detail"] == "no such order"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_head_negotiation_and_the_happy_path(framework: str, bundled: Catalog) -> None:
    app = installed(framework, bundled)
    get, head = request(app, "/conflict"), request(app, "/conflict", method="HEAD")
    assert (head.status, head.body, head.headers["content-type"]) == (409, b"", "application/problem+json")
    if framework == "quart":  # Quart's test client counts the body it got; a server sends what the app sent
        exchange = call(app, "HEAD", "/conflict")
        head = Got(exchange.status, exchange.headers, exchange.body)
    assert head.headers["content-length"] == get.headers["content-length"]
    xml = request(app, "/conflict", headers={"Accept": "application/problem+xml"})
    assert (xml.status, xml.headers["content-type"]) == (409, "application/problem+xml")
    page = request(app, "/conflict", headers={"Accept": "text/html"})
    assert (page.status, page.headers["content-type"]) == (409, "text/html; charset=utf-8")
    assert b'<script type="application/problem+json">' in page.body
    given = request(app, "/ok", headers={"X-Request-ID": "req-install-2"})
    assert (given.status, given.json(), given.headers["x-request-id"]) == (200, {"ok": True}, "req-install-2")
    assert re.fullmatch("[0-9a-f]{32}", request(app, "/ok").headers["x-request-id"])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_install_and_the_extension_answer_alike(framework: str, bundled: Catalog) -> None:
    apps = [installed(framework, bundled, way) for way in WAYS]
    for path in ("/conflict", "/crash", "/nope", "/http-error", "/orders/7", "/mapped"):
        answers = [request(app, path, headers={"X-Request-ID": "req-same"}) for app in apps]
        assert len({(got.status, got.body, tuple(sorted(got.headers.items()))) for got in answers}) == 1, path


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_extension_registers_itself(framework: str, bundled: Catalog) -> None:
    extension = ProblemDetails(catalog=bundled)
    first, second = routed(framework, bundled), routed(framework, bundled)
    extension.init_app(first)
    extension.init_app(second)  # one extension, many apps: an app factory's
    assert first.extensions["problemdetails"] is extension is second.extensions["problemdetails"]
    assert install(routed(framework, bundled), catalog=bundled).extensions["problemdetails"].catalog is bundled


@pytest.mark.parametrize("second", ["install", "extension"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_installing_twice_is_an_error(framework: str, second: str, bundled: Catalog) -> None:
    app = installed(framework, bundled)
    layer = app.wsgi_app if framework == "flask" else app.asgi_app
    with pytest.raises(RuntimeError, match="already installed"):
        installed(framework, bundled, second, app)
    assert (app.wsgi_app if framework == "flask" else app.asgi_app) is layer  # not wrapped twice


def test_the_extension_takes_only_flask_and_quart(bundled: Catalog) -> None:
    with pytest.raises(TypeError, match="Flask or Quart"):
        ProblemDetails(object(), catalog=bundled)


# -- the app's own handlers


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_catch_all_handler_registered_before_install_still_runs(
    framework: str, bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    app = routed(framework, bundled)
    seen: list[str] = []

    def everything(exc: Exception) -> tuple[str, int]:
        seen.append(type(exc).__name__)
        return "something broke", 500

    def lookups(exc: LookupError) -> tuple[dict[str, str], int]:
        seen.append("lookup")
        return {"detail": f"no such thing: {exc}"}, 404

    app.register_error_handler(Exception, everything if framework == "flask" else asynchronous_handler(everything))
    app.register_error_handler(LookupError, lookups)
    installed(framework, bundled, app=app)
    crash = problem(request(app, "/crash"), 500, "internal")  # its 5xx page is replaced, nothing leaked
    assert seen == ["RuntimeError"]
    (record,) = errors(caplog)  # the crash, with its traceback, once
    assert record.exc_info is not None
    assert crash["request_id"] in record.getMessage()
    assert problem(request(app, "/lookup"), 404, "not-found")["detail"] == "no such thing: zone z9"
    assert seen == ["RuntimeError", "lookup"]
    problem(request(app, "/conflict"), 409, "conflict")  # a problem is the layer's to answer
    problem(request(app, "/nope"), 404, "not-found")
    assert seen == ["RuntimeError", "lookup"]


def asynchronous_handler(handler: Callable[[Exception], Any]) -> Callable[[Exception], Any]:
    async def run(exc: Exception) -> Any:
        return handler(exc)

    return run


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_catch_all_handler_registered_after_install_wins(framework: str, bundled: Catalog) -> None:
    app = installed(framework, bundled)

    def everything(exc: Exception) -> tuple[str, int]:
        return f"refused: {type(exc).__name__}", 400

    app.register_error_handler(Exception, everything)  # Flask's lookup: the last one for a class
    assert problem(request(app, "/conflict"), 400, "bad-request")["detail"] == "refused: Conflict"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_handler_that_returns_a_problem_is_sent_as_is(framework: str, bundled: Catalog) -> None:
    app = routed(framework, bundled)

    def gone(exc: ZoneLocked) -> tuple[str, int, dict[str, str]]:
        body = json.dumps(bundled["gone"](detail="moved away").to_dict())
        return body, 410, {"Content-Type": "application/problem+json"}

    app.register_error_handler(ZoneLocked, gone)
    install(app, catalog=bundled)
    got = request(app, "/mapped")
    assert (got.status, got.headers["content-type"], got.json()["detail"]) == (
        410,
        "application/problem+json",
        "moved away",
    )


# -- installed and wrapped: the outer layer is a guard


def test_installed_and_wrapped_flask_decides_and_logs_once(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    guard = WSGIProblemMiddleware(installed("flask", bundled), catalog=bundled)
    for path, status in (("/conflict", 409), ("/crash", 500), ("/nope", 404), ("/orders/7", 404)):
        caplog.clear()
        served = serve(guard, path=path, headers={"X-Request-ID": "req-guarded"})
        assert (served.code, served.json()["request_id"], served.headers["x-request-id"]) == (
            status,
            "req-guarded",
            "req-guarded",
        )
        assert len([r for r in caplog.records if r.name == "problemdetails"]) == 1, path
        assert not [r for r in caplog.records if r.name == "install-test"]


def test_installed_and_wrapped_quart_decides_and_logs_once(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    guard = ProblemMiddleware(installed("quart", bundled), catalog=bundled)
    for path, status in (("/conflict", 409), ("/crash", 500), ("/nope", 404), ("/orders/7", 404)):
        caplog.clear()
        exchange = call(guard, path=path)
        assert (exchange.status, exchange.json()["request_id"]) == (status, exchange.headers["x-request-id"])
        assert len([r for r in caplog.records if r.name == "problemdetails"]) == 1, path
        assert not [r for r in caplog.records if r.name == "install-test"]


def test_a_wrapped_flask_app_logs_a_crash_once(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    """The wrapper alone, too: Flask's own "Exception on ..." record is not a second one."""
    served = serve(WSGIProblemMiddleware(routed("flask", bundled), catalog=bundled), path="/crash")
    assert served.code == 500
    (record,) = errors(caplog)
    assert record.name == "problemdetails"


def test_a_wrapped_flask_app_called_without_its_wrapper_is_flasks_own(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """The hooks a wrapper installed act only for a request it serves: without it, Flask answers as ever."""
    app = routed("flask", bundled)
    WSGIProblemMiddleware(app, catalog=bundled)
    assert request(app, "/http-error").status == 429
    assert request(app, "/conflict").status == 500  # Flask's own 500 page, for an exception it does not know
    assert not [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], AttributeError)]


# -- the dev servers


@contextmanager
def werkzeug_serving(app: Any) -> Iterator[str]:
    """werkzeug's dev server on the app object, as `flask run` starts it, in a thread; stopped at the end."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def hypercorn_serving(app: Any) -> Iterator[str]:
    """hypercorn on the app object, as `quart run` serves it, on its own loop in a thread; stopped at the end."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = threading.Event()

    async def stopped() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(hypercorn_serve(app, config, shutdown_trigger=stopped)))
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # bounded: 10 s
            try:
                httpx.get(base + "/ok", timeout=1)
                break
            except httpx.TransportError:
                threading.Event().wait(0.05)
        yield base
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_dev_server_serves_the_app_object(framework: str, bundled: Catalog) -> None:
    app = installed(framework, bundled, "extension")
    serving = werkzeug_serving if framework == "flask" else hypercorn_serving
    with serving(app) as base:
        ok = httpx.get(base + "/ok", headers={"X-Request-ID": "req-dev-1"}, timeout=10)
        assert (ok.status_code, ok.headers["x-request-id"]) == (200, "req-dev-1")
        conflict = httpx.get(base + "/conflict", timeout=10)
        assert (conflict.status_code, conflict.headers["content-type"]) == (409, "application/problem+json")
        assert conflict.json()["request_id"] == conflict.headers["x-request-id"]
        crash = httpx.get(base + "/crash", timeout=10)
        assert (crash.status_code, crash.json()["code"]) == (500, "internal")
        assert b"hunter2" not in crash.content
        not_allowed = httpx.post(base + "/conflict", timeout=10)
        assert (not_allowed.status_code, not_allowed.json()["code"]) == (405, "method-not-allowed")


# -- debug mode


@pytest.mark.parametrize("switch", ["attribute", "config"])
def test_flask_debug_gives_a_browser_werkzeugs_debugger(
    switch: str, bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    from werkzeug.debug import DebuggedApplication

    app = installed("flask", bundled)
    if switch == "attribute":
        app.debug = True
    else:
        app.config["DEBUG"] = True
    # `flask run --debug`: werkzeug's debugger around the app object, under its dev server.
    with werkzeug_serving(DebuggedApplication(app, evalex=True)) as base:
        page = httpx.get(base + "/crash", headers=BROWSER, timeout=10)
        assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
        assert "Werkzeug Debugger" in page.text
        assert "RuntimeError" in page.text
        api = httpx.get(base + "/crash", headers={"Accept": "application/json"}, timeout=10)
        assert (api.status_code, api.headers["content-type"], api.json()["code"]) == (
            500,
            "application/problem+json",
            "internal",
        )
        html_problem = httpx.get(base + "/conflict", headers=BROWSER, timeout=10)  # a problem is no crash
        assert (html_problem.status_code, html_problem.headers["content-type"]) == (409, "text/html; charset=utf-8")
        assert '<script type="application/problem+json">' in html_problem.text
    assert len([r for r in errors(caplog) if r.name == "problemdetails"]) == 2  # each crash once
    with pytest.raises(RuntimeError, match="hunter2"):  # no debugger around: the crash leaves, as Flask's does
        request(app, "/crash", headers=BROWSER)


def test_a_guard_outside_the_app_lets_a_crash_reach_werkzeugs_debugger(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    from werkzeug.debug import DebuggedApplication
    from werkzeug.test import Client

    app = installed("flask", bundled)
    app.debug = True
    guarded = DebuggedApplication(WSGIProblemMiddleware(app, catalog=bundled), evalex=False)
    page = Client(guarded).get("/crash", headers=BROWSER)
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert "Werkzeug Debugger" in page.get_data(as_text=True)
    api = Client(guarded).get("/crash", headers={"Accept": "application/json"})
    assert (api.status_code, api.json["code"]) == (500, "internal")  # type: ignore[index]
    assert len([r for r in errors(caplog) if r.name == "problemdetails"]) == 2  # each crash once


def test_a_guard_outside_the_app_sends_quarts_traceback_page_as_it_is(bundled: Catalog) -> None:
    app = installed("quart", bundled)
    app.debug = True
    page = call(ProblemMiddleware(app, catalog=bundled), "GET", "/crash", BROWSER)
    assert (page.status, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert b'<div class="traceback">' in page.body


def test_quart_debug_gives_a_browser_quarts_traceback_page(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    app = installed("quart", bundled)
    app.debug = True
    page = request(app, "/crash", headers=BROWSER)
    assert (page.status, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert b'<div class="traceback">' in page.body
    assert b"RuntimeError" in page.body
    assert re.fullmatch("[0-9a-f]{32}", page.headers["x-request-id"])
    api = request(app, "/crash", headers={"Accept": "application/json"})
    assert (api.status, api.headers["content-type"], api.json()["code"]) == (
        500,
        "application/problem+json",
        "internal",
    )
    assert len(errors(caplog)) == 2  # each crash once, not also Quart's
    app.debug = False
    assert request(app, "/crash", headers=BROWSER).headers["content-type"] == "text/html; charset=utf-8"
    assert b"RuntimeError" not in request(app, "/crash", headers=BROWSER).body  # the problem as HTML
