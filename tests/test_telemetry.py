"""OpenTelemetry, for real: the SDK with in-memory exporters, its ASGI and WSGI middleware outermost.

Every framework example (`examples/frameworks/`) is wrapped the documented
way, `OpenTelemetryMiddleware(app)`, and its problems are read back from the
server span, the `problemdetails.problems` counter and the log records.
The SDK is global to a process: it is set up once, for this whole session.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as WSGIOpenTelemetryMiddleware
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from problemdetails import (
    Catalog,
    Problem,
    ProblemMiddleware,
    RequestContextFilter,
    WSGIProblemMiddleware,
    current_request_id,
)
from problemdetails._telemetry import _tag_event
from problemdetails.client import decode
from tests.asgi import call, call_async, request_scope
from tests.wsgi import serve

SPANS = InMemorySpanExporter()
METRICS = InMemoryMetricReader()
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module", autouse=True)
def sdk() -> None:
    """The real SDK as the global providers (once per process: OpenTelemetry refuses a second).

    A README example run earlier in the session may have set the tracer provider: the
    exporter joins it then. No other test sets a meter provider.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    metrics.set_meter_provider(MeterProvider(metric_readers=[METRICS]))


@pytest.fixture(autouse=True)
def fresh_spans() -> Iterator[None]:
    SPANS.clear()
    yield
    SPANS.clear()


def server_span() -> ReadableSpan:
    """The request's server span: the innermost one (FastAPI's own telemetry adds one inside the middleware's)."""
    spans = [span for span in SPANS.get_finished_spans() if span.kind == SpanKind.SERVER]
    parents = {span.parent.span_id for span in spans if span.parent is not None}
    (innermost,) = [span for span in spans if span.context is not None and span.context.span_id not in parents]
    return innermost


def error_type(span: ReadableSpan) -> object:
    return (span.attributes or {}).get("error.type")


def trace_id_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def problem_counts() -> dict[tuple[str, int], int]:
    """The `problemdetails.problems` counter so far, by (problem.code, http.response.status_code)."""
    counts: dict[tuple[str, int], int] = {}
    data = METRICS.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "problemdetails.problems":
                    for point in metric.data.data_points:
                        assert isinstance(point, NumberDataPoint)  # a counter's
                        attributes = point.attributes or {}
                        key = (str(attributes["problem.code"]), int(str(attributes["http.response.status_code"])))
                        counts[key] = int(point.value)
    return counts


Get = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


def asgi_get(app: Any) -> Get:
    wrapped = OpenTelemetryMiddleware(app)  # outermost, as documented

    def get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        exchange = call(wrapped, path=path, headers=headers)
        return exchange.status, exchange.json() if exchange.status >= 400 else {}

    return get


def wsgi_get(app: Any) -> Get:
    wrapped = WSGIOpenTelemetryMiddleware(app)

    def get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        served = serve(wrapped, path=path, headers=headers)
        return served.code, served.json() if served.code >= 400 else {}

    return get


def aiohttp_get(make: Callable[[], Any]) -> Get:
    """aiohttp's app (from its factory) under a server span of the real SDK, opened outside the layer.

    What OpenTelemetry's aiohttp server instrumentation does (a middleware first in the
    list, continuing the caller's trace); its package pins other versions of the
    instrumentation libraries than the ASGI and WSGI ones, so a middleware of the
    test's stands for it.
    """
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer
    from opentelemetry import propagate

    tracer = trace.get_tracer("tests")

    @web.middleware
    async def traced(request: web.Request, handler: Any) -> web.StreamResponse:
        context = propagate.extract(dict(request.headers))
        with tracer.start_as_current_span(f"{request.method} {request.path}", context=context, kind=SpanKind.SERVER):
            response: web.StreamResponse = await handler(request)
            return response

    def get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        app = make()
        app.middlewares.insert(0, traced)

        async def fetch() -> tuple[int, dict[str, Any]]:
            async with TestClient(TestServer(app)) as client:
                response = await client.get(path, headers=headers)
                body = await response.json(content_type=None) if response.status >= 400 else {}
                return response.status, body

        return asyncio.run(fetch())

    return get


def tornado_get(make: Callable[[], Any]) -> Get:
    """Tornado's application (from its factory) under a server span of the real SDK, through its test client.

    OpenTelemetry's Tornado instrumentation wraps `RequestHandler._execute` to open the server
    span (continuing the caller's trace); its package pins other versions of the instrumentation
    libraries than the ASGI and WSGI ones, so the test wraps it the same way, for its request only.
    """
    from opentelemetry import propagate
    from tornado import web

    from tests.test_tornado import Client

    tracer = trace.get_tracer("tests")
    original = web.RequestHandler._execute

    async def traced(handler: web.RequestHandler, transforms: Any, *args: bytes, **kwargs: bytes) -> None:
        request = handler.request
        context = propagate.extract({name.lower(): value for name, value in request.headers.get_all()})
        with tracer.start_as_current_span(f"{request.method} {request.path}", context=context, kind=SpanKind.SERVER):
            await original(handler, transforms, *args, **kwargs)

    def get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client = Client(make())
        web.RequestHandler._execute = traced  # type: ignore[method-assign,assignment]
        try:
            response = client.request("GET", path, headers)
        finally:
            web.RequestHandler._execute = original  # type: ignore[method-assign]
            client.tearDown()
        return response.status_code, response.json() if response.status_code >= 400 else {}

    return get


def sanic_get(app: Any) -> Get:
    """Sanic's app as the ASGI app it also is, OpenTelemetry's ASGI middleware outermost.

    Through Sanic's ASGI test client (which starts the app as an ASGI server would), its
    transport given the wrapped app.
    """
    from sanic_testing.testing import SanicASGITestClient

    client = SanicASGITestClient(app)
    client._transport.app = OpenTelemetryMiddleware(app)

    def get(path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        _, response = asyncio.run(client.get(path, headers=headers))
        assert response is not None
        return response.status_code, json.loads(response.content) if response.status_code >= 400 else {}

    return get


class Prefixed:
    """A framework's routes under a prefix: Django Ninja's API is at `/ninja/` in the example project."""

    def __init__(self, get: Get, prefix: str) -> None:
        self.inner, self.prefix = get, prefix

    def __call__(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self.inner(self.prefix + path, headers)


def ninja_get(app: Any) -> Get:
    return Prefixed(asgi_get(app), "/ninja")


FRAMEWORKS = {
    "starlette": ("starlette_app", "app", asgi_get),
    "litestar": ("litestar_app", "app", asgi_get),
    "django-asgi": ("django_app", "asgi_app", asgi_get),
    "quart": ("quart_app", "app", asgi_get),
    "falcon-asgi": ("falcon_app", "asgi_app", asgi_get),
    "blacksheep": ("blacksheep_app", "app", asgi_get),
    "flask": ("flask_app", "app", wsgi_get),
    "django-wsgi": ("django_app", "wsgi_app", wsgi_get),
    "falcon-wsgi": ("falcon_app", "wsgi_app", wsgi_get),
    "aiohttp": ("aiohttp_app", "conventional_app", aiohttp_get),
    "aiohttp-install": ("aiohttp_app", "installed_app", aiohttp_get),
    "tornado": ("tornado_app", "make_app", tornado_get),
    "sanic": ("sanic_app", "app", sanic_get),
    "ninja": ("django_app", "installed_asgi_app", ninja_get),
    "pyramid": ("pyramid_app", "app", wsgi_get),
    "connexion": ("connexion_app", "app", asgi_get),
    "connexion-flask": ("connexion_app", "flask_app", asgi_get),
}


@pytest.fixture(params=sorted(FRAMEWORKS))
def get(request: pytest.FixtureRequest) -> Get:
    module, name, wrap = FRAMEWORKS[request.param]
    return wrap(getattr(importlib.import_module(f"examples.frameworks.{module}"), name))


def test_a_4xx_names_its_code_on_the_span_and_is_no_error(get: Get) -> None:
    before = problem_counts().get(("conflict", 409), 0)
    status, body = get("/conflict", {})
    assert status == 409
    span = server_span()
    assert error_type(span) == "conflict"
    assert span.status.status_code is not StatusCode.ERROR
    assert [event.name for event in span.events] == []
    assert body["trace_id"] == trace_id_of(span)
    assert problem_counts()[("conflict", 409)] == before + 1


def test_a_crash_is_an_error_span_with_its_exception_once(get: Get) -> None:
    before = problem_counts().get(("internal", 500), 0)
    status, body = get("/crash", {})
    assert status == 500
    span = server_span()
    assert error_type(span) == "internal"
    assert span.status.status_code is StatusCode.ERROR
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"
    assert body["trace_id"] == trace_id_of(span)
    assert problem_counts()[("internal", 500)] == before + 1


def test_a_mapped_exception_and_a_router_404_are_counted_by_code(get: Get) -> None:
    before = problem_counts()
    assert get("/mapped", {})[0] == 409
    assert get("/nope", {})[0] == 404
    after = problem_counts()
    assert after[("conflict", 409)] == before.get(("conflict", 409), 0) + 1
    assert after[("not-found", 404)] == before.get(("not-found", 404), 0) + 1


def test_the_span_continues_the_callers_trace(get: Get) -> None:
    status, body = get("/conflict", {"traceparent": TRACEPARENT})
    assert status == 409
    assert trace_id_of(server_span()) == body["trace_id"] == TRACEPARENT.split("-")[1]


def test_one_record_per_problem_with_its_fields(get: Get, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    for path, status, code, traceback in [
        ("/conflict", 409, "conflict", False),  # a problem: no traceback
        ("/mapped", 409, "conflict", True),  # an exception mapped to one: its traceback
        ("/crash", 500, "internal", True),
        ("/nope", 404, "not-found", False),  # the router's: an answer, like a problem
    ]:
        caplog.clear()
        SPANS.clear()
        assert get(path, {"X-Request-ID": f"id{path.replace('/', '-')}"})[0] == status
        (record,) = [r for r in caplog.records if r.name == "problemdetails"]
        assert record.levelno == (logging.ERROR if status >= 500 else logging.INFO)
        fields = {name: getattr(record, name) for name in ("problem_code", "problem_status", "request_id", "path")}
        assert fields == {
            "problem_code": code,
            "problem_status": status,
            "request_id": f"id{path.replace('/', '-')}",
            "path": getattr(get, "prefix", "") + path,
        }
        assert record.method == "GET"  # type: ignore[attr-defined]
        assert record.trace_id == trace_id_of(server_span())  # type: ignore[attr-defined]
        assert (record.exc_info is not None) is traceback, path
        if traceback:
            assert record.exc_text is not None
            assert record.exc_text.startswith("Traceback")


def fastapi_app(**options: Any) -> Any:
    from fastapi import FastAPI

    from examples.frameworks.common import CATALOG

    api = FastAPI(**options)

    @api.get("/conflict")
    async def conflict() -> None:
        raise CATALOG["conflict"]()

    @api.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret")

    return ProblemMiddleware(api, catalog=CATALOG)


def test_fastapi_with_its_own_tracing_off_is_as_every_framework() -> None:
    """The documented set-up for FastAPI: the instrumentation outermost, FastAPI's own tracing off (one trace)."""
    get = asgi_get(fastapi_app(telemetry={"tracing": False}))
    status, body = get("/conflict", {})
    span = server_span()
    assert (status, error_type(span)) == (409, "conflict")
    assert span.status.status_code is not StatusCode.ERROR
    assert not span.events
    assert body["trace_id"] == trace_id_of(span)
    SPANS.clear()
    status, body = get("/crash", {})
    span = server_span()
    assert (status, error_type(span)) == (500, "internal")
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    assert body["trace_id"] == trace_id_of(span)


def test_fastapis_own_tracing_sees_4xx_problems_but_a_crash_leaves_its_span_first() -> None:
    """FastAPI's own tracing runs inside the middleware: what the README says of it, as it is."""
    app = fastapi_app()
    exchange = call(app, path="/conflict")
    span = server_span()
    assert error_type(span) == "conflict"
    assert span.status.status_code is not StatusCode.ERROR
    assert exchange.json()["trace_id"] == trace_id_of(span)
    SPANS.clear()
    exchange = call(app, path="/crash", headers={"traceparent": TRACEPARENT})
    span = server_span()
    # FastAPI marks the span itself (the crash passed through it), with the exception's type.
    assert span.status.status_code is StatusCode.ERROR
    assert error_type(span) == "RuntimeError"
    # The middleware answers outside that span: the trace id comes from traceparent only.
    assert exchange.json()["trace_id"] == trace_id_of(span) == TRACEPARENT.split("-")[1]
    assert "trace_id" not in call(app, path="/crash").json()


def test_problems_carry_the_traceparents_trace_id_without_a_span(bundled: Catalog) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise bundled["conflict"]()

    wrapped = ProblemMiddleware(app, catalog=bundled)  # no OpenTelemetry middleware: no span
    assert call(wrapped, headers={"traceparent": TRACEPARENT}).json()["trace_id"] == TRACEPARENT.split("-")[1]
    for invalid in [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is invalid
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 has no more fields
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # 31 digits
        "garbage",
    ]:
        assert "trace_id" not in call(wrapped, headers={"traceparent": invalid}).json(), invalid
    # A later version may add fields: its trace id is still read (W3C Trace Context §3.2.4).
    later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"
    assert call(wrapped, headers={"traceparent": later}).json()["trace_id"] == TRACEPARENT.split("-")[1]
    assert "trace_id" not in call(wrapped).json()
    # Sent twice, there is no one parent to read (the same header read once by the request's facts).
    twice = request_scope(headers={"accept": "application/json"})
    twice["headers"] += [(b"traceparent", TRACEPARENT.encode())] * 2
    assert "trace_id" not in asyncio.run(call_async(wrapped, twice)).json()


def relayed_problem(catalog: Catalog, status: int, code: str) -> Problem:
    """What a gateway raises: a problem another service answered with, decoded with this catalog, `relayed()`."""
    body = {"type": f"https://upstream.example/{code}", "title": "Upstream", "status": status, "code": code}
    decoded = decode(status, {"content-type": "application/problem+json"}, json.dumps(body).encode(), catalog=catalog)
    return decoded.relayed()


class Reporter(logging.Handler):
    """What Sentry's logging integration does with a record: an event, tagged by the event processors."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.tags: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.tags.append(_tag_event({}, {})["tags"])


def test_relayed_codes_label_metrics_spans_tags_and_logs_only_when_the_catalog_knows_them(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """Another service's codes are not this one's labels: unbounded, and with any character it put in them."""
    caplog.set_level(logging.INFO, logger="problemdetails")
    unknown = [f"order-{n}-locked" for n in range(5)] + ["x\nFORGED line", "z" * 10_000]
    cases = [("rate-limited", 429, "rate-limited")] + [(code, 422, "422") for code in unknown]
    reporter = Reporter()
    logging.getLogger("problemdetails").addHandler(reporter)
    early: list[dict[str, str]] = []  # a reporter that sees the exception before the middleware decides
    before = problem_counts()
    try:
        for code, status, label in cases:
            problem = relayed_problem(bundled, status, code)

            async def app(scope: Any, receive: Any, send: Any, problem: Problem = problem) -> None:
                early.append(_tag_event({}, {"exc_info": (type(problem), problem, None)})["tags"])
                raise problem

            SPANS.clear()
            caplog.clear()
            exchange = call(
                OpenTelemetryMiddleware(ProblemMiddleware(app, catalog=bundled)), headers={"X-Request-ID": "r"}
            )
            assert (exchange.status, exchange.json().get("code")) == (status, code)  # the body relays it as it was
            assert error_type(server_span()) == label
            (record,) = [r for r in caplog.records if r.name == "problemdetails"]
            assert record.problem_code == (code if label == code else None)  # type: ignore[attr-defined]
            assert record.getMessage().startswith(f"{status} {label}: GET / request_id=r (upstream {status} ")
            assert record.upstream_code == code.replace("\n", "\\x0a")  # type: ignore[attr-defined]
            assert "\n" not in caplog.handler.format(record)
            assert reporter.tags[-1] == early[-1] == {"request_id": "r", "problem.code": label}
    finally:
        logging.getLogger("problemdetails").removeHandler(reporter)
    after = problem_counts()
    assert after[("rate-limited", 429)] == before.get(("rate-limited", 429), 0) + 1
    assert after[("422", 422)] == before.get(("422", 422), 0) + len(unknown)  # one series for all of them
    assert not [key for key in after if key[0] in unknown]


def test_the_request_id_can_be_the_trace_id(bundled: Catalog) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise bundled["conflict"]()

    traced = OpenTelemetryMiddleware(ProblemMiddleware(app, catalog=bundled, request_id_from_trace=True))
    exchange = call(traced)
    assert exchange.headers["x-request-id"] == exchange.json()["request_id"] == trace_id_of(server_span())
    # A valid X-Request-ID the client sent is still the one echoed.
    assert call(traced, headers={"X-Request-ID": "mine"}).headers["x-request-id"] == "mine"


def test_the_wrong_order_is_detected(bundled: Catalog) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise bundled["conflict"]()

    with pytest.warns(RuntimeWarning, match=r"Wrap it outside: OpenTelemetryMiddleware\(ProblemMiddleware"):
        ProblemMiddleware(OpenTelemetryMiddleware(app), catalog=bundled)
    with pytest.warns(RuntimeWarning, match="inside WSGIProblemMiddleware"):
        WSGIProblemMiddleware(WSGIOpenTelemetryMiddleware(lambda environ, start: []), catalog=bundled)


def test_current_request_id_and_the_filter_inside_a_request(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    """The app's own records get the request id and trace id; outside a request there are none."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    log = logging.getLogger("tests.app")
    handler = caplog.handler
    handler.addFilter(RequestContextFilter())

    def view(request: Request) -> PlainTextResponse:  # sync: Starlette runs it in a thread
        log.warning("charging the card")
        return PlainTextResponse(current_request_id() or "")

    app = OpenTelemetryMiddleware(ProblemMiddleware(Starlette(routes=[Route("/", view)]), catalog=bundled))
    try:
        exchange = call(app, headers={"X-Request-ID": "req-7"})
        assert exchange.body == b"req-7"
        (record,) = [r for r in caplog.records if r.name == "tests.app"]
        assert record.request_id == "req-7"  # type: ignore[attr-defined]
        assert record.trace_id == trace_id_of(server_span())  # type: ignore[attr-defined]
        assert current_request_id() is None
        log.warning("outside")
        assert caplog.records[-1].request_id is None  # type: ignore[attr-defined]
    finally:
        handler.filters.clear()


def test_without_opentelemetry_imported_nothing_of_it_is_loaded() -> None:
    script = (
        "import sys, asyncio\n"
        "from problemdetails import Catalog, ProblemMiddleware\n"
        "from tests.asgi import call\n"
        "catalog = Catalog.load('catalog/')\n"
        "async def app(scope, receive, send):\n"
        "    raise RuntimeError('x') if scope['path'] == '/crash' else catalog['conflict']()\n"
        "wrapped = ProblemMiddleware(app, catalog=catalog)\n"
        "assert call(wrapped, path='/crash').status == 500 and call(wrapped).status == 409\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'sentry_sdk'))))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


STABLE_CONVENTIONS = """
import importlib, json, logging
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as WSGIOpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests.asgi import call
from tests.wsgi import serve

spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(provider)
logging.disable(logging.CRITICAL)
seen = {}
served = [("starlette_app", "app"), ("django_app", "asgi_app"), ("flask_app", "app"), ("django_app", "wsgi_app")]
for module, name in served:
    app = getattr(importlib.import_module("examples.frameworks." + module), name)
    for path in ["/crash", "/conflict"]:
        spans.clear()
        if name == "asgi_app" or module == "starlette_app":
            call(OpenTelemetryMiddleware(app), path=path)
        else:
            serve(WSGIOpenTelemetryMiddleware(app), path=path)
        (span,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
        seen[f"{module}.{name} {path}"] = span.attributes.get("error.type")
print(json.dumps(seen))
"""


def test_the_code_stays_error_type_under_the_stable_http_conventions() -> None:
    """With `OTEL_SEMCONV_STABILITY_OPT_IN=http` the instrumentation sets error.type to "500": the code is put back.

    The instrumentation reads the setting once per process: a child process runs it.
    """
    env = {**os.environ, "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}
    run = subprocess.run(
        [sys.executable, "-c", STABLE_CONVENTIONS], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert set(seen.values()) == {"internal", "conflict"}
    assert all(value == ("internal" if key.endswith("/crash") else "conflict") for key, value in seen.items())
