"""One contract, every framework: each example app (`examples/frameworks/`) under real servers on 127.0.0.1.

Each app is built the way its framework's docs build it and wrapped in one
line (`ProblemMiddleware` or `WSGIProblemMiddleware`, no helper, no setting
but DRF's). Every server is started by the test module, once, and stopped at
the end; the routes are listed in `examples/frameworks/common.py`.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from problemdetails import Catalog
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
RETRY_AFTER_7 = {"retry-after": "7"}


@dataclass(frozen=True)
class App:
    """An example app: where it is, how it is served, and what its framework's own errors are."""

    name: str
    target: str  # module:attribute
    interface: str  # asgi | wsgi | aiohttp | tornado | sanic (its own server; Sanic's app is ASGI too)
    servers: tuple[str, ...]
    http_error: tuple[int, str, dict[str, str]] = (429, "rate-limited", RETRY_AFTER_7)
    prefix: str = ""
    allow: bool = True  # the router can tell a 405 (with Allow) from a 404
    validation: tuple[int, str] | None = None  # the status and slug of a validation failure, if the framework has one
    head_status: int | None = None  # HEAD /conflict, when the route does not take HEAD
    xml_status: int = 409  # GET /conflict asking for XML: DRF refuses what its renderers cannot make (406)


FRENCH, GERMAN = (Catalog.load(ROOT / "catalog").translations[language] for language in ("fr", "de"))
ASGI_SERVERS = ("uvicorn", "hypercorn", "granian")
WSGI_SERVERS = ("gunicorn", "waitress", "granian")
APPS = [
    App("starlette", "examples.frameworks.starlette_app:app", "asgi", ("uvicorn", "hypercorn")),
    App(
        "fastapi",
        "examples.frameworks.fastapi_app:app",
        "asgi",
        ("uvicorn", "hypercorn"),
        validation=(422, "unprocessable"),
        head_status=405,
    ),
    App(
        "litestar",
        "examples.frameworks.litestar_app:app",
        "asgi",
        ("uvicorn", "hypercorn"),
        validation=(400, "bad-request"),
        head_status=405,
    ),
    App(
        "django",
        "examples.frameworks.django_app:asgi_app",
        "asgi",
        ASGI_SERVERS,
        (403, "forbidden", {}),
        head_status=405,
    ),
    App(
        "drf",
        "examples.frameworks.django_app:asgi_app",
        "asgi",
        ("uvicorn",),
        prefix="/drf",
        validation=(400, "bad-request"),
        xml_status=406,
    ),
    App("quart", "examples.frameworks.quart_app:app", "asgi", ("uvicorn", "hypercorn")),
    App("falcon", "examples.frameworks.falcon_app:asgi_app", "asgi", ASGI_SERVERS, validation=(400, "bad-request")),
    App(
        "blacksheep",
        "examples.frameworks.blacksheep_app:app",
        "asgi",
        ("uvicorn",),
        (429, "rate-limited", {}),
        allow=False,
        head_status=404,
    ),
    App("flask", "examples.frameworks.flask_app:app", "wsgi", WSGI_SERVERS),
    App(
        "django-wsgi",
        "examples.frameworks.django_app:wsgi_app",
        "wsgi",
        WSGI_SERVERS,
        (403, "forbidden", {}),
        head_status=405,
    ),
    App(
        "drf-wsgi",
        "examples.frameworks.django_app:wsgi_app",
        "wsgi",
        ("gunicorn",),
        prefix="/drf",
        validation=(400, "bad-request"),
        xml_status=406,
    ),
    App(
        "falcon-wsgi", "examples.frameworks.falcon_app:wsgi_app", "wsgi", WSGI_SERVERS, validation=(400, "bad-request")
    ),
    App(
        "litestar-install",
        "examples.frameworks.litestar_app:installed_app",
        "asgi",
        ("uvicorn",),
        validation=(400, "bad-request"),
        head_status=405,
    ),
    App(
        "litestar-plugin",
        "examples.frameworks.litestar_app:plugin_app",
        "asgi",
        ("uvicorn",),
        validation=(400, "bad-request"),
        head_status=405,
    ),
    App("starlette-install", "examples.frameworks.starlette_app:installed_app", "asgi", ("uvicorn",)),
    App("starlette-convention", "examples.frameworks.starlette_app:conventional_app", "asgi", ("uvicorn",)),
    App(
        "fastapi-install",
        "examples.frameworks.fastapi_app:installed_app",
        "asgi",
        ("uvicorn",),
        validation=(422, "unprocessable"),
        head_status=405,
    ),
    App(
        "fastapi-convention",
        "examples.frameworks.fastapi_app:conventional_app",
        "asgi",
        ("uvicorn",),
        validation=(422, "unprocessable"),
        head_status=405,
    ),
    App("flask-install", "examples.frameworks.flask_app:installed_app", "wsgi", ("gunicorn",)),
    App("flask-extension", "examples.frameworks.flask_app:extended_app", "wsgi", ("waitress",)),
    App("quart-install", "examples.frameworks.quart_app:installed_app", "asgi", ("hypercorn",)),
    App("quart-extension", "examples.frameworks.quart_app:extended_app", "asgi", ("uvicorn",)),
    App(
        "falcon-install",
        "examples.frameworks.falcon_app:installed_asgi_app",
        "asgi",
        ("uvicorn",),
        validation=(400, "bad-request"),
    ),
    App(
        "falcon-wsgi-install",
        "examples.frameworks.falcon_app:installed_wsgi_app",
        "wsgi",
        ("gunicorn",),
        validation=(400, "bad-request"),
    ),
    App(
        "blacksheep-install",
        "examples.frameworks.blacksheep_app:installed_app",
        "asgi",
        ("uvicorn",),
        (429, "rate-limited", {}),
        allow=False,
        head_status=404,
    ),
    # aiohttp under its own server: the convention (`middlewares=[problem_middleware(...)]`) and `install`.
    App("aiohttp", "examples.frameworks.aiohttp_app:make_app", "aiohttp", ("aiohttp",)),
    App("aiohttp-install", "examples.frameworks.aiohttp_app:make_app --installed", "aiohttp", ("aiohttp",)),
    # Tornado under its own server (`application.listen`), installed: a method a handler lacks is its 405, HEAD too.
    App("tornado", "examples.frameworks.tornado_app", "tornado", ("tornado",), head_status=405),
    # Sanic, installed: under its own server and as the ASGI app it also is.
    App("sanic", "examples.frameworks.sanic_app:app", "sanic", ("sanic",), head_status=405),
    App("sanic-asgi", "examples.frameworks.sanic_app:app", "asgi", ("uvicorn",), head_status=405),
    # Django Ninja, `install(api)` inside the Django project: wrapped, and with the layer installed.
    App(
        "ninja",
        "examples.frameworks.django_app:asgi_app",
        "asgi",
        ("uvicorn",),
        prefix="/ninja",
        validation=(422, "unprocessable"),
        head_status=405,
    ),
    App(
        "ninja-wsgi-install",
        "examples.frameworks.django_app:installed_wsgi_app",
        "wsgi",
        ("gunicorn",),
        prefix="/ninja",
        validation=(422, "unprocessable"),
        head_status=405,
    ),
    # Connexion 3, installed: its AsyncApp and its FlaskApp, from one OpenAPI document.
    App("connexion", "examples.frameworks.connexion_app:app", "asgi", ("uvicorn",), validation=(400, "bad-request")),
    App(
        "connexion-flask",
        "examples.frameworks.connexion_app:flask_app",
        "asgi",
        ("uvicorn",),
        validation=(400, "bad-request"),
    ),
    # Pyramid, `config.include("problemdetails.pyramid")`: its routes' predicates answer 404 for another method.
    App("pyramid", "examples.frameworks.pyramid_app:app", "wsgi", ("waitress", "gunicorn"), allow=False),
    # Django with the layer in each handler's own middleware chain (what the `MIDDLEWARE` setting does), no wrapper.
    App(
        "django-install",
        "examples.frameworks.django_app:installed_asgi_app",
        "asgi",
        ("uvicorn",),
        (403, "forbidden", {}),
        head_status=405,
    ),
    App(
        "django-wsgi-install",
        "examples.frameworks.django_app:installed_wsgi_app",
        "wsgi",
        ("gunicorn",),
        (403, "forbidden", {}),
        head_status=405,
    ),
    App(
        "drf-install",
        "examples.frameworks.django_app:installed_asgi_app",
        "asgi",
        ("uvicorn",),
        prefix="/drf",
        validation=(400, "bad-request"),
        xml_status=406,
    ),
]
SERVED = [(app, server) for app in APPS for server in app.servers]


def command(app: App, server: str, port: int) -> list[str]:
    python, host = sys.executable, "127.0.0.1"
    if server == "uvicorn":
        return [python, "-m", "uvicorn", app.target, "--host", host, "--port", str(port), "--log-level", "warning"]
    if server == "hypercorn":
        return [python, "-m", "hypercorn", "--bind", f"{host}:{port}", app.target]
    if server == "aiohttp":  # its own server, `python -m aiohttp.web`, given an app factory and its arguments
        return [python, "-m", "aiohttp.web", "-H", host, "-P", str(port), *app.target.split()]
    if server == "sanic":  # its own server, one process (its default forks a manager and workers)
        return [python, "-m", "sanic", app.target, "--host", host, "--port", str(port), "--single-process"]
    if server == "tornado":  # its own server: the example module listens (`application.listen(port)`)
        return [python, "-m", app.target, "--host", host, "--port", str(port)]
    if server == "granian":
        interface = ["--interface", app.interface, "--no-log"]
        return [python, "-m", "granian", *interface, "--host", host, "--port", str(port), app.target]
    if server == "gunicorn":  # sync workers
        return [
            python,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--worker-class",
            "sync",
            "-b",
            f"{host}:{port}",
            app.target,
        ]
    assert server == "waitress"
    return [python, "-m", "waitress", f"--listen={host}:{port}", app.target]


@dataclass
class Server:
    name: str
    base: str
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def logged(self, text: str, within: float = 10.0) -> str:
        """The server's log once it holds `text` (it is written as the server goes), waiting a bounded time."""
        deadline = time.monotonic() + within
        while True:
            log = self.log.read_text(errors="replace")
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Server]]:
    """Every app under each of its servers, started together; all stopped at the end."""
    logs = tmp_path_factory.mktemp("server-logs")
    started: dict[tuple[str, str], Server] = {}
    try:
        for app, server in SERVED:
            port = free_port()
            log = logs / f"{app.name}-{server}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(command(app, server, port), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
            started[app.name, server] = Server(server, f"http://127.0.0.1:{port}{app.prefix}", log, process)
        deadline = time.monotonic() + 90
        for (name, server), running in started.items():
            while True:  # bounded by the deadline
                try:
                    httpx.get(f"{running.base}/ok", timeout=2)
                    break
                except httpx.TransportError:
                    if running.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{name} under {server} did not start:\n{running.log.read_text()}") from None
                    time.sleep(0.1)
        # Each answered on its own port: one that could not bind it (and died) would leave another's answers there.
        dead = [
            f"{name} under {server}"
            for (name, server), running in started.items()
            if running.process.poll() is not None
        ]
        assert not dead, f"exited after starting: {dead}"
        yield started
    finally:
        for running in started.values():
            running.process.terminate()
        for running in started.values():
            try:
                running.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                running.process.kill()
                running.process.wait(timeout=15)


@pytest.fixture(params=SERVED, ids=[f"{app.name}-{server}" for app, server in SERVED])
def served(request: pytest.FixtureRequest, servers: dict[tuple[str, str], Server]) -> tuple[App, Server]:
    app, server = request.param
    return app, servers[app.name, server]


VALIDATING = [(app, server) for app, server in SERVED if app.validation is not None]


@pytest.fixture(params=VALIDATING, ids=[f"{app.name}-{server}" for app, server in VALIDATING])
def validating(request: pytest.FixtureRequest, servers: dict[tuple[str, str], Server]) -> tuple[App, Server]:
    """An app with request validation of its framework's own, under one of its servers."""
    app, server = request.param
    return app, servers[app.name, server]


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is a complete problem+json of `status` and `code`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"https://errors.example.com/{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_the_happy_path_only_gains_a_request_id(served: tuple[App, Server]) -> None:
    _, server = served
    given = httpx.get(server.base + "/ok", headers={"X-Request-ID": "req-contract-1"}, timeout=10)
    assert (given.status_code, given.json(), given.headers["x-request-id"]) == (200, {"ok": True}, "req-contract-1")
    drawn = httpx.get(server.base + "/ok", timeout=10)
    assert re.fullmatch("[0-9a-f]{32}", drawn.headers["x-request-id"])


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/conflict", 409, "conflict"), ("/class", 410, "gone"), ("/from-middleware", 403, "forbidden")],
    ids=["view", "class-based-view", "middleware"],
)
def test_a_raised_problem_leaves_as_itself(served: tuple[App, Server], path: str, status: int, code: str) -> None:
    app, server = served
    response = httpx.get(server.base + path, headers={"X-Request-ID": "req-contract-2"}, timeout=10)
    body = problem(response, status, code)
    assert body["request_id"] == "req-contract-2"
    assert body["instance"] == app.prefix + path
    assert body["detail"]
    if code == "conflict":
        assert body["conflicts"] == ["a1"]


def test_a_crash_is_the_500_problem_with_nothing_leaked(served: tuple[App, Server]) -> None:
    _, server = served
    response = httpx.get(server.base + "/crash", timeout=10)
    body = problem(response, 500, "internal")
    assert set(body) == {"type", "title", "status", "instance", "code", "request_id"}
    for leak in (b"hunter2", b"RuntimeError", b"/srv/app", b"Traceback"):
        assert leak not in response.content
    assert "hunter2" in server.logged(body["request_id"])  # the operator sees it, with the request id


def test_a_mapped_exception_leaves_as_its_slug(served: tuple[App, Server]) -> None:
    _, server = served
    problem(httpx.get(server.base + "/mapped", timeout=10), 409, "conflict")


def test_the_router_404_and_405(served: tuple[App, Server]) -> None:
    app, server = served
    problem(httpx.get(server.base + "/nope", timeout=10), 404, "not-found")
    response = httpx.post(server.base + "/conflict", timeout=10)
    if not app.allow:  # BlackSheep's router answers 404 for a path it has under another method
        problem(response, 404, "not-found")
        return
    problem(response, 405, "method-not-allowed")
    assert "GET" in [method.strip() for method in response.headers["allow"].split(",")]


def test_the_frameworks_own_http_error_keeps_its_headers(served: tuple[App, Server]) -> None:
    app, server = served
    status, code, headers = app.http_error
    response = httpx.get(server.base + "/http-error", timeout=10)
    problem(response, status, code)
    for name, value in headers.items():
        assert response.headers[name] == value


def test_negotiation_gives_xml_and_html(served: tuple[App, Server]) -> None:
    app, server = served
    xml = httpx.get(server.base + "/conflict", headers={"Accept": "application/problem+xml"}, timeout=10)
    assert (xml.status_code, xml.headers["content-type"]) == (app.xml_status, "application/problem+xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "{urn:ietf:rfc:7807}problem"
    assert root.findtext("{urn:ietf:rfc:7807}status") == str(app.xml_status)
    page = httpx.get(server.base + "/conflict", headers={"Accept": "text/html"}, timeout=10)
    assert (page.status_code, page.headers["content-type"]) == (409, "text/html; charset=utf-8")
    assert '<script type="application/problem+json">' in page.text
    assert page.headers["vary"] == "Accept, Accept-Language"  # the bundled catalog has translations
    assert page.headers["content-language"] == "en"


def test_problems_come_in_the_language_asked_for(served: tuple[App, Server]) -> None:
    """The bundled catalog's French and German, through every framework and server (the responder decides)."""
    _, server = served
    french = httpx.get(server.base + "/conflict", headers={"Accept-Language": "fr-CA, en;q=0.5"}, timeout=10)
    assert (french.status_code, french.headers["content-language"], french.json()["title"]) == (409, "fr", "Conflit")
    assert french.json()["code"] == "conflict"  # never translated
    german = httpx.get(server.base + "/conflict", headers={"Accept-Language": "de"}, timeout=10)
    assert (german.headers["content-language"], german.json()["title"]) == ("de", "Konflikt")


def test_head_gets_the_headers_and_no_body(served: tuple[App, Server]) -> None:
    app, server = served
    head = httpx.head(server.base + "/conflict", timeout=10)
    get = httpx.request("GET" if app.head_status is None else "HEAD", server.base + "/conflict", timeout=10)
    assert head.status_code == (app.head_status or 409)
    assert head.content == b""
    assert head.headers["content-type"] == "application/problem+json"
    if app.head_status is None:
        assert head.headers["content-length"] == get.headers["content-length"]


def raw_head(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """HEAD over a raw socket: the status, the headers, and every byte after them until the server closes.

    An HTTP client reads no body after a HEAD response, whatever the server
    sends; only the raw connection shows content sent where none may be.
    """
    url = httpx.URL(base + path)
    with socket.create_connection((url.host, url.port or 80), timeout=10) as sock:
        sock.sendall(f"HEAD {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        for _ in range(10_000):  # bounded: the server closes the connection after one response
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, rest


@pytest.mark.parametrize("path", ["/nope", "/conflict", "/crash", "/http-error", "/mapped"])
def test_head_never_has_a_body(served: tuple[App, Server], path: str) -> None:
    """RFC 9110 §9.3.2: the headers GET would have, and no content, on every problem response."""
    _, server = served
    status, headers, rest = raw_head(server.base, path)
    assert rest == b""
    assert status >= 400
    assert headers["content-type"] == "application/problem+json"
    get = httpx.get(server.base + path, timeout=10)
    if get.status_code == status:
        assert headers["content-length"] == get.headers["content-length"]


def test_a_stream_failing_mid_body_is_truncated_and_logged(served: tuple[App, Server]) -> None:
    app, server = served
    statuses: list[int] = []
    with (  # noqa: PT012  (the status is read inside, before the body fails)
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("GET", server.base + "/stream", headers={"X-Request-ID": "req-stream-1"}, timeout=10) as response,
    ):
        statuses.append(response.status_code)
        response.read()
    # One status, the one that went out; granian's WSGI worker may abort before it flushed even that.
    assert statuses == [200] or (server.name == "granian" and app.interface == "wsgi" and statuses == [])
    log = server.logged("req-stream-1")
    assert "exception after the response started; aborting: GET" in log
    assert "req-stream-1" in log


def test_validation_errors_point_at_the_fields(validating: tuple[App, Server]) -> None:
    app, server = validating
    assert app.validation is not None
    status, code = app.validation
    response = httpx.post(server.base + "/validate", json={"name": 5, "profile": {"color": 1}}, timeout=10)
    body = problem(response, status, code)
    pointers = {item.get("pointer") for item in body["errors"]}
    # Litestar (msgspec) and Falcon (jsonschema) stop at the first failure; the others report every field.
    assert pointers & {"#/name", "#/profile/color"}, body["errors"]


def test_validation_items_keep_the_rules_params(validating: tuple[App, Server]) -> None:
    """Every example app caps `name` at 10 characters, each in its framework's way; the item says so as `params`."""
    app, server = validating
    assert app.validation is not None
    document = {"name": "far-too-long-a-name", "profile": {"color": "red"}}
    headers = {"Accept-Language": "de"}
    response = httpx.post(server.base + "/validate", json=document, headers=headers, timeout=10)
    (item,) = problem(response, *app.validation)["errors"]
    assert item["pointer"] == "#/name"
    assert list(item["params"].values()) == [10], item  # `max_length` (pydantic, DRF, msgspec) or `maxLength`
    assert item["detail"] == GERMAN.validation[item["code"]].format(**item["params"])


def test_validation_items_come_in_the_language_asked_for(validating: tuple[App, Server]) -> None:
    """Each item's `code` picks the bundled French message, filled with its `params`; the rest is the framework's."""
    app, server = validating
    assert app.validation is not None
    document = {"name": 5, "profile": {"color": 1}}
    english = httpx.post(server.base + "/validate", json=document, timeout=10).json()["errors"]
    response = httpx.post(server.base + "/validate", json=document, headers={"Accept-Language": "fr"}, timeout=10)
    french = problem(response, *app.validation)["errors"]
    assert response.headers["content-language"] == "fr"
    assert [item["code"] for item in french] == [item["code"] for item in english]  # codes are never translated
    messages = FRENCH.validation
    translated = [item for item in french if item["code"] in messages]
    assert translated, french  # every framework's failure here has a code the bundled French knows
    for item, original in zip(french, english, strict=True):
        expected = messages[item["code"]].format(**item.get("params", {})) if item in translated else original["detail"]
        assert item["detail"] == expected
