"""What an operator sees: the log records, the ids inside a request, problems that cross services, enrichment.

OpenTelemetry spans and metrics are in `test_telemetry.py`, Sentry in
`test_sentry.py`; two real services calling each other are in
`acceptance/test_services.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from problemdetails import Catalog, Problem, ProblemMiddleware, WSGIProblemMiddleware, current_request_id
from problemdetails._context import serving
from problemdetails._exchange import EXCHANGE, Exchange
from problemdetails._request import Request as ResponderRequest
from problemdetails._responder import Responder
from problemdetails._types import Receive, Scope, Send
from problemdetails.client import async_propagation_hook, decode, propagation_hook
from tests.asgi import call
from tests.wsgi import serve

UPSTREAM_BODY = {
    "type": "https://errors.example.com/not-found",
    "title": "Not found",
    "status": 404,
    "detail": "user 7 not in db shard 3 (10.0.0.5)",
    "instance": "/internal/users/7",
    "code": "not-found",
    "request_id": "upstream-id-1",
}


def upstream_problem(catalog: Catalog, body: dict[str, Any] = UPSTREAM_BODY, **headers: str) -> Problem:
    """A problem as `problemdetails.client` decodes it from another service's response."""
    return decode(
        body["status"],
        {"content-type": "application/problem+json", **headers},
        json.dumps(body).encode(),
        catalog=catalog,
    )


def raising(exc: BaseException) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "problemdetails"]


# -- the records ----------------------------------------------------------------


def test_every_problem_response_is_one_record_with_its_fields(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")

    def rendered_500(request: Request) -> Response:
        return PlainTextResponse("Internal Server Error", status_code=500)

    def mapped(request: Request) -> Response:
        raise KeyError("zone 7")

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None  # no response at all

    app = Starlette(routes=[Route("/rendered", rendered_500), Route("/mapped", mapped)])
    wrapped = ProblemMiddleware(app, catalog=bundled, exception_map={KeyError: "not-found"})
    cases = [
        (wrapped, "/rendered", 500, "internal", "the app's error response, replaced", False),
        (wrapped, "/mapped", 404, "not-found", "mapped from KeyError", True),
        (wrapped, "/nope", 404, "not-found", "", False),
        (
            ProblemMiddleware(silent, catalog=bundled),
            "/",
            500,
            "internal",
            "the app returned without a response",
            False,
        ),
    ]
    for app_, path, status, code, note, traceback in cases:
        caplog.clear()
        assert call(app_, path=path, headers={"X-Request-ID": "r-1"}).status == status
        (record,) = records(caplog)
        assert (record.problem_code, record.problem_status, record.request_id) == (code, status, "r-1")  # type: ignore[attr-defined]
        assert (record.method, record.path, record.trace_id) == ("GET", path, None)  # type: ignore[attr-defined]
        assert record.levelno == (logging.ERROR if status >= 500 else logging.INFO)
        assert record.getMessage() == f"{status} {code}: GET {path} request_id=r-1" + (f" ({note})" if note else "")
        assert (record.exc_info is not None) is traceback


def test_logged_values_are_escaped(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    call(ProblemMiddleware(raising(bundled["conflict"]()), catalog=bundled), path="/a\nFORGED line")
    (record,) = records(caplog)
    assert "\n" not in record.getMessage()
    assert record.path == "/a\\x0aFORGED line"  # type: ignore[attr-defined]


def test_every_logged_field_is_escaped_whoever_builds_the_request(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    """The sans-IO responder takes a `Request` from any caller: its id and an exception's class name are text too."""
    caplog.set_level(logging.INFO, logger="problemdetails")
    forged = type("Boom\u2028FORGED class", (Exception,), {})
    request = ResponderRequest._of("GET\rFORGED", "/\nFORGED", b"", "id\x85FORGED", {})
    Responder(bundled).problem_for(forged(), request)
    (record,) = records(caplog)
    text = caplog.handler.format(record)
    assert text.splitlines() == text.split("\n")
    assert not [line for line in text.splitlines() if line.startswith("FORGED")]
    assert record.getMessage() == (
        "500 internal: GET\\x0dFORGED /\\x0aFORGED request_id=id\\x85FORGED (unhandled Boom\\u2028FORGED class)"
    )
    assert record.request_id == "id\\x85FORGED"  # type: ignore[attr-defined]
    caplog.clear()

    def failing(native: Any) -> str:
        raise ValueError("no instance")

    Responder(bundled, instance=failing).respond(bundled["gone"](), request)  # a failure logged on its own record
    (record,) = records(caplog)
    assert record.getMessage() == "the instance function failed: GET\\x0dFORGED /\\x0aFORGED request_id=id\\x85FORGED"


def test_the_wsgi_middleware_logs_the_same_record(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise bundled["gone"]()

    assert serve(WSGIProblemMiddleware(app, catalog=bundled), path="/x", headers={"X-Request-ID": "w-1"}).code == 410
    (record,) = records(caplog)
    assert (record.problem_code, record.problem_status, record.request_id, record.path) == ("gone", 410, "w-1", "/x")  # type: ignore[attr-defined]


# -- the ids inside a request ---------------------------------------------------


def test_current_request_id_inside_an_asgi_and_a_wsgi_app(bundled: Catalog) -> None:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(current_request_id() or "")(scope, receive, send)

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [(current_request_id() or "").encode()]

    assert call(ProblemMiddleware(asgi, catalog=bundled), headers={"X-Request-ID": "a-1"}).body == b"a-1"
    served = serve(WSGIProblemMiddleware(wsgi, catalog=bundled))
    assert served.body.decode() == served.headers["x-request-id"]
    assert current_request_id() is None  # outside a request, and after one


def test_the_propagation_hook_sends_the_ids_on(bundled: Catalog) -> None:
    """Inside a request: its X-Request-ID and its traceparent (no OpenTelemetry here) go to the next service."""
    seen: list[httpx.Headers] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(204)

    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    client = httpx.Client(transport=httpx.MockTransport(upstream), event_hooks={"request": [propagation_hook()]})
    scope = {"type": "http", "headers": [(b"traceparent", traceparent.encode()), (b"tracestate", b"v=1")]}
    exchange = Exchange()
    exchange.request_id = b"req-9"
    token = serving.set({**scope, EXCHANGE: exchange})
    try:
        client.get("http://upstream.test/")
        client.get("http://upstream.test/", headers={"X-Request-ID": "chosen"})
    finally:
        serving.reset(token)
    client.get("http://upstream.test/")  # outside a request: nothing added
    assert [(h.get("x-request-id"), h.get("traceparent"), h.get("tracestate")) for h in seen] == [
        ("req-9", traceparent, "v=1"),
        ("chosen", traceparent, "v=1"),
        (None, None, None),
    ]


def test_the_async_propagation_hook(bundled: Catalog) -> None:
    seen: list[httpx.Headers] = []

    async def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(204)

    async def main() -> None:
        hooks = {"request": [async_propagation_hook()]}
        async with httpx.AsyncClient(transport=httpx.MockTransport(upstream), event_hooks=hooks) as client:
            exchange = Exchange()
            exchange.request_id = b"req-10"
            token = serving.set({"type": "http", "headers": [], EXCHANGE: exchange})
            try:
                await client.get("http://upstream.test/")
            finally:
                serving.reset(token)

    asyncio.run(main())
    assert seen[0]["x-request-id"] == "req-10"


VALID_TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
LATER_TRACEPARENT = b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"
ZERO_TRACEPARENT = b"00-00000000000000000000000000000000-00f067aa0ba902b7-01"
TRACE_CONTEXTS = {
    # the incoming request's header fields -> (the valid traceparent sent on?, the tracestate sent on)
    "valid": (
        [(b"traceparent", VALID_TRACEPARENT), (b"tracestate", b"rojo=1, congo=t61rcWkgMzE")],
        (True, "rojo=1,congo=t61rcWkgMzE"),
    ),
    "traceparent-alone": ([(b"traceparent", VALID_TRACEPARENT)], (True, None)),
    "non-ascii-tracestate": ([(b"traceparent", VALID_TRACEPARENT), (b"tracestate", b"caf\xc3\xa9=1")], (True, None)),
    "non-ascii-traceparent": (
        [(b"traceparent", VALID_TRACEPARENT + b"\xc3\xa9"), (b"tracestate", b"a=1")],
        (False, None),
    ),
    "rejected-traceparent": ([(b"traceparent", ZERO_TRACEPARENT), (b"tracestate", b"a=1")], (False, None)),
    "tracestate-alone": ([(b"tracestate", b"a=1")], (False, None)),
    "100-kb-tracestate": ([(b"traceparent", VALID_TRACEPARENT), (b"tracestate", b"a=" + b"v" * 100_000)], (True, None)),
    "33-members": (
        [(b"traceparent", VALID_TRACEPARENT), (b"tracestate", b",".join(b"k%d=1" % n for n in range(33)))],
        (True, None),
    ),
    "two-tracestate-fields": (
        [(b"traceparent", VALID_TRACEPARENT), (b"tracestate", b"a=1"), (b"tracestate", b"b=2")],
        (True, "a=1,b=2"),
    ),
    "later-version": ([(b"traceparent", LATER_TRACEPARENT), (b"tracestate", b"a=1")], (True, "a=1")),
}


def served_by_middleware(kind: str, catalog: Catalog, fields: list[tuple[bytes, bytes]]) -> tuple[int, httpx.Headers]:
    """One request with `fields`, served by the middleware, whose app calls another service through the hook."""
    seen: list[httpx.Headers] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(204)

    async def async_upstream(request: httpx.Request) -> httpx.Response:
        return upstream(request)

    def call_upstream() -> None:
        with httpx.Client(
            transport=httpx.MockTransport(upstream), event_hooks={"request": [propagation_hook()]}
        ) as client:
            client.get("http://upstream.test/")

    def sync_view(request: Request) -> Response:  # Starlette runs it in a thread, in the request's context
        call_upstream()
        return PlainTextResponse("ok")

    async def async_view(request: Request) -> Response:
        hooks = {"request": [async_propagation_hook()]}
        async with httpx.AsyncClient(transport=httpx.MockTransport(async_upstream), event_hooks=hooks) as client:
            await client.get("http://upstream.test/")
        return PlainTextResponse("ok")

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        call_upstream()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    if kind == "wsgi":
        # PEP 3333: header values are the bytes as latin-1; a server joins repeated fields with commas.
        headers: dict[str, str] = {}
        for name, value in fields:
            key, text = name.decode(), value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        served = serve(WSGIProblemMiddleware(wsgi, catalog=catalog), headers=headers)
        status, request_id = served.code, served.headers["x-request-id"]
    else:
        view = async_view if kind == "asgi-async" else sync_view
        app = ProblemMiddleware(Starlette(routes=[Route("/", view)]), catalog=catalog)

        async def main() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://service.test"
            ) as client:
                return await client.get("/", headers=fields)

        response = asyncio.run(main())
        status, request_id = response.status_code, response.headers["x-request-id"]
    (outgoing,) = seen
    assert outgoing["x-request-id"] == request_id
    return status, outgoing


@pytest.mark.parametrize("kind", ["asgi-sync", "asgi-async", "wsgi"])
@pytest.mark.parametrize("case", sorted(TRACE_CONTEXTS))
def test_the_propagation_hooks_forward_only_valid_trace_context(bundled: Catalog, kind: str, case: str) -> None:
    """W3C Trace Context: a traceparent the library reads as valid, a tracestate by its list grammar and limits."""
    fields, (traceparent, tracestate) = TRACE_CONTEXTS[case]
    status, outgoing = served_by_middleware(kind, bundled, fields)
    assert status == 200  # the hook never raises, whatever the request's bytes
    expected = VALID_TRACEPARENT.decode() if traceparent else None
    assert (outgoing.get("traceparent"), outgoing.get("tracestate")) == (expected, tracestate)


# -- problems across services ---------------------------------------------------


def test_an_upstream_problem_raised_unchanged_is_a_502_without_its_body(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    exchange = call(
        ProblemMiddleware(raising(upstream_problem(bundled)), catalog=bundled),
        path="/v1/users/7",
        headers={"X-Request-ID": "mine"},
    )
    body = exchange.json()
    assert exchange.status == 502
    assert body == {
        "type": "https://errors.example.com/bad-gateway",
        "title": bundled["bad-gateway"].title,
        "status": 502,
        "instance": "/v1/users/7",
        "code": "bad-gateway",
        "request_id": "mine",
    }
    for leaked in ("shard", "10.0.0.5", "/internal/users", "upstream-id-1", "not-found"):
        assert leaked not in exchange.body.decode()
    (record,) = records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is None
    upstream = {name: getattr(record, name) for name in ("upstream_status", "upstream_code", "upstream_type")}
    assert upstream == {"upstream_status": 404, "upstream_code": "not-found", "upstream_type": UPSTREAM_BODY["type"]}
    assert record.upstream_request_id == "upstream-id-1"  # type: ignore[attr-defined]
    assert "shard" not in record.getMessage()
    assert record.getMessage().endswith("(upstream 404 not-found request_id=upstream-id-1)")


def test_without_a_502_in_the_catalog_it_is_about_blank(write: Any) -> None:
    catalog = Catalog.load(write("catalog: {name: Tiny, base_uri: 'https://e.example/'}\nproblems: {}\n"))
    exchange = call(ProblemMiddleware(raising(upstream_problem(catalog)), catalog=catalog))
    assert (exchange.status, exchange.json()["type"], exchange.json()["title"]) == (502, "about:blank", "Bad Gateway")


def test_a_relayed_problem_goes_on_as_itself_with_this_requests_ids(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    upstream = upstream_problem(
        bundled,
        {**UPSTREAM_BODY, "status": 429, "type": "https://errors.example.com/rate-limited", "code": "rate-limited"},
        **{"retry-after": "30"},
    )
    exchange = call(
        ProblemMiddleware(raising(upstream.relayed()), catalog=bundled),
        path="/v1/users/7",
        headers={"X-Request-ID": "mine"},
    )
    body = exchange.json()
    assert (exchange.status, body["code"], body["detail"]) == (429, "rate-limited", UPSTREAM_BODY["detail"])
    assert (body["instance"], body["request_id"]) == ("/v1/users/7", "mine")
    assert exchange.headers["retry-after"] == "30"
    (record,) = records(caplog)
    assert (record.upstream_status, record.upstream_request_id) == (429, "upstream-id-1")  # type: ignore[attr-defined]
    assert upstream.request_id == "upstream-id-1"  # the decoded problem is left as it was


def test_a_relayed_validation_problem_keeps_its_errors(bundled: Catalog) -> None:
    errors = [{"detail": "must be a colour", "pointer": "#/profile/color"}]
    body = {
        "type": "https://errors.example.com/unprocessable",
        "title": "Unprocessable",
        "status": 422,
        "code": "unprocessable",
        "errors": errors,
    }
    relayed = upstream_problem(bundled, body).relayed()
    answered = call(ProblemMiddleware(raising(relayed), catalog=bundled)).json()
    assert (answered["status"], answered["errors"]) == (422, errors)


# -- enrichment -----------------------------------------------------------------


def test_the_enrich_hook_adds_members_and_headers(bundled: Catalog) -> None:
    def enrich(problem: Problem, scope: Any) -> Problem:
        tenant = dict(scope["headers"]).get(b"x-tenant", b"none").decode()
        return problem.with_members(tenant=tenant, headers={"Link": '<https://status.example>; rel="help"'})

    app = ProblemMiddleware(raising(bundled["conflict"](conflicts=["a1"])), catalog=bundled, enrich=enrich)
    exchange = call(app, headers={"X-Tenant": "acme"})
    body = exchange.json()
    assert (body["tenant"], body["conflicts"], body["code"]) == ("acme", ["a1"], "conflict")
    assert exchange.headers["link"] == '<https://status.example>; rel="help"'
    xml = call(app, headers={"Accept": "application/problem+xml"}).body.decode()
    assert "<tenant>none</tenant>" in xml


def test_the_enrich_hook_sees_this_requests_ids(bundled: Catalog) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def enrich(problem: Problem, scope: Any) -> None:
        seen.append((problem.request_id, problem.instance))

    call(
        ProblemMiddleware(raising(bundled["gone"]()), catalog=bundled, enrich=enrich),
        path="/x",
        headers={"X-Request-ID": "e-1"},
    )
    assert seen == [("e-1", "/x")]


def test_enriched_members_are_checked_against_the_catalog(bundled: Catalog) -> None:
    conflict = bundled["conflict"]()
    with pytest.raises(TypeError, match=r"member 'conflicts' must be list\[str\]"):
        conflict.with_members(conflicts="a1")
    for name in ("status", "trace_id", "i", "constructor", "not an xml name"):
        members: dict[str, Any] = {name: "x"}
        with pytest.raises(TypeError, match="cannot be an extension member name"):
            conflict.with_members(**members)
    with pytest.raises(TypeError, match="NaN or Infinity"):
        conflict.with_members(ratio=float("nan"))
    assert conflict.with_members(conflicts=["b2"]).members == {"conflicts": ["b2"]}
    assert conflict.extensions == {}  # the original is left as it was


@pytest.mark.parametrize(
    "enrich",
    [
        pytest.param(lambda problem, scope: 1 / 0, id="raises"),
        pytest.param(lambda problem, scope: problem.with_members(status="x"), id="invalid-member"),
        pytest.param(lambda problem, scope: "not a problem", id="wrong-type"),
        pytest.param(lambda problem, scope: Problem(status=418), id="another-problem"),
    ],
)
def test_a_failing_enrich_hook_answers_the_plain_problem_and_is_logged(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, enrich: Any
) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    exchange = call(ProblemMiddleware(raising(bundled["conflict"]("taken")), catalog=bundled, enrich=enrich))
    assert (exchange.status, exchange.json()["detail"]) == (409, "taken")
    assert [r.levelno for r in records(caplog)] == [logging.INFO, logging.ERROR]
    assert "enrich hook" in records(caplog)[1].getMessage()
