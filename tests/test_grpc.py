"""gRPC, for real: `grpc.server` and `grpc.aio.server` on 127.0.0.1, every detail read back with `from_call`.

The service is `tests/grpc_service.py`'s (no protoc: bytes in, bytes out), one
method of each kind, served by a sync server, an aio server, and an aio server
running sync handlers. OpenTelemetry and Sentry run in child processes (each
patches grpcio, or sets global providers, for the rest of its process).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

import problemdetails
from problemdetails import Catalog, Request, Responder
from problemdetails._grpc_status import field_path, metadata_value, status_of
from problemdetails.client import decode
from problemdetails.grpc import AsyncProblemInterceptor, ProblemInterceptor, _AsyncContext, _Context
from tests.conftest import HEADER, WriteCatalog
from tests.grpc_service import CATALOG, EXCEPTION_MAP, FLAVORS, ITEMS, METHODS, SECRET, invoke, serve
from tests.test_properties import PROPERTY, catalogs, load, problem_for

ROOT = Path(__file__).resolve().parent.parent
REQUEST_ID = "req-0001"
DETAIL_TYPES = {
    "ErrorInfo": error_details_pb2.ErrorInfo,
    "Help": error_details_pb2.Help,
    "RequestInfo": error_details_pb2.RequestInfo,
    "RetryInfo": error_details_pb2.RetryInfo,
    "BadRequest": error_details_pb2.BadRequest,
}


def interceptor(flavor: str, **options: Any) -> Any:
    cls = ProblemInterceptor if flavor == "sync" else AsyncProblemInterceptor
    return cls(CATALOG, exception_map=EXCEPTION_MAP, **options)


@pytest.fixture(scope="module", params=FLAVORS)
def channel(request: pytest.FixtureRequest) -> Iterator[grpc.Channel]:
    """A channel to the service behind the interceptor, one server per flavor for the module."""
    with serve(request.param, [interceptor(request.param)]) as channel:
        yield channel


def details(status: status_pb2.Status) -> dict[str, Any]:
    """The status's details by type name, each unpacked; a type twice fails."""
    found: dict[str, Any] = {}
    for packed in status.details:
        assert isinstance(packed, any_pb2.Any)
        name = packed.type_url.removeprefix("type.googleapis.com/google.rpc.")
        assert name not in found, f"{name} twice"
        message = DETAIL_TYPES[name]()
        assert packed.Unpack(message)
        found[name] = message
    return found


def rich_status(outcome: Any) -> status_pb2.Status:
    """grpcio-status's reading: it refuses a status whose code or message differs from the call's."""
    status = rpc_status.from_call(outcome.call)
    assert status is not None, "no grpc-status-details-bin"
    assert isinstance(status, status_pb2.Status)
    return status


# -- a raised problem ------------------------------------------------------------


@pytest.mark.parametrize("method", list(METHODS))
def test_grpc_a_raised_problem_ends_the_call_with_its_status(channel: grpc.Channel, method: str) -> None:
    outcome = invoke(channel, method, "conflict", [("x-request-id", REQUEST_ID)])
    assert outcome.code == grpc.StatusCode.ABORTED  # the bundled catalog's `grpc: ABORTED`
    assert outcome.details == "zone example.org exists"
    status = rich_status(outcome)
    assert (status.code, status.message) == (grpc.StatusCode.ABORTED.value[0], "zone example.org exists")
    found = details(status)
    assert sorted(found) == ["ErrorInfo", "Help", "RequestInfo"]
    info = found["ErrorInfo"]
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "CONFLICT",
        "errors.example.com",
        {"conflicts": '["z1","z2"]'},
    )
    (link,) = found["Help"].links
    assert (link.description, link.url) == ("Conflict", "https://errors.example.com/conflict")
    assert found["RequestInfo"].request_id == REQUEST_ID
    if method in ("List", "Chat"):  # the stream started: its messages, then the status in the trailers
        assert outcome.messages == [b"1", b"2"]
        assert outcome.initial_value("x-request-id") == [REQUEST_ID]
        assert outcome.trailing_value("x-request-id") == []
    else:
        assert outcome.trailing_value("x-request-id") == [REQUEST_ID]


@pytest.mark.parametrize("method", list(METHODS))
def test_grpc_validation_items_become_field_violations(channel: grpc.Channel, method: str) -> None:
    outcome = invoke(channel, method, "invalid")
    assert outcome.code == grpc.StatusCode.INVALID_ARGUMENT  # `unprocessable`'s: AIP-193's for BadRequest
    status = rich_status(outcome)
    assert status.message == "Unprocessable content"  # no detail: the title
    found = details(status)
    violations = [(v.field, v.description, v.reason) for v in found["BadRequest"].field_violations]
    assert violations == [
        ("zone.records[0].name", "must be at least 3 characters", "string_too_short"),
        ("limit", "must be an integer", ""),
    ]
    # The items travel whole in the metadata too (every member, as compact JSON): `in` and `params` with them.
    assert json.loads(found["ErrorInfo"].metadata["errors"]) == [
        {"detail": "must be at least 3 characters", "pointer": "#/zone/records/0/name", "code": "string_too_short"},
        {"detail": "must be an integer", "parameter": "limit", "in": "query"},
    ]
    assert [item.detail for item in ITEMS] == [v[1] for v in violations]


@pytest.mark.parametrize(
    ("what", "code", "delay"), [("rate", "RESOURCE_EXHAUSTED", 30), ("unavailable", "UNAVAILABLE", 600)]
)
def test_grpc_a_retry_delay_becomes_retry_info(channel: grpc.Channel, what: str, code: str, delay: int) -> None:
    outcome = invoke(channel, "Get", what)
    assert outcome.code == grpc.StatusCode[code]
    found = details(rich_status(outcome))
    assert found["RetryInfo"].retry_delay.seconds == delay
    assert found["ErrorInfo"].metadata["retry_after"] == str(delay)


def test_grpc_an_exception_map_entry_answers_with_its_problem(channel: grpc.Channel) -> None:
    outcome = invoke(channel, "Get", "mapped")
    assert (outcome.code, outcome.details) == (grpc.StatusCode.NOT_FOUND, "Not found")
    assert SECRET not in repr(outcome.trailing)
    assert details(rich_status(outcome))["ErrorInfo"].reason == "NOT_FOUND"


@pytest.mark.parametrize("method", list(METHODS))
def test_grpc_the_handlers_own_abort_passes_as_it_chose(channel: grpc.Channel, method: str) -> None:
    outcome = invoke(channel, method, "abort")
    assert (outcome.code, outcome.details) == (grpc.StatusCode.FAILED_PRECONDITION, "the handler's own")
    assert rpc_status.from_call(outcome.call) is None  # no details of ours on a status it chose


def test_grpc_the_handlers_context_is_the_servers(channel: grpc.Channel) -> None:
    outcome = invoke(channel, "Get", "context", [("x-request-id", REQUEST_ID)])
    assert outcome.code == grpc.StatusCode.OK
    (answer,) = outcome.messages
    assert f"('x-request-id', '{REQUEST_ID}')" in answer.decode()  # its invocation metadata, then its peer
    assert "127.0.0.1" in answer.decode()


@pytest.mark.parametrize(
    ("ours", "theirs"), [(_Context, grpc.ServicerContext), (_AsyncContext, grpc.aio.ServicerContext)]
)
def test_grpc_the_handlers_context_answers_every_method_of_grpcio(ours: type, theirs: type) -> None:
    # Each method of grpcio's interface is the server context's (the interface's own raise NotImplementedError).
    names = {name for klass in theirs.__mro__[:-1] for name in vars(klass) if not name.startswith("_")}
    assert sorted(name for name in names if getattr(ours, name).__qualname__.split(".")[0] != ours.__name__) == []


def test_grpc_the_handlers_trailing_metadata_stays(channel: grpc.Channel) -> None:
    outcome = invoke(channel, "Get", "trailing")
    assert outcome.trailing_value("x-app") == ["kept"]
    assert rich_status(outcome).code == grpc.StatusCode.ABORTED.value[0]


# -- any other exception ---------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("method", list(METHODS))
def test_grpc_a_crash_leaks_nothing_and_is_logged_once(
    flavor: str, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(flavor, [interceptor(flavor)]) as channel:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            outcome = invoke(channel, method, "crash", [("x-request-id", REQUEST_ID)])
    assert (outcome.code, outcome.details) == (grpc.StatusCode.INTERNAL, "Internal server error")
    status = rich_status(outcome)
    assert SECRET not in repr(outcome.trailing)
    assert SECRET not in repr(outcome.initial)
    assert "RuntimeError" not in repr(outcome.trailing)
    found = details(status)
    assert (found["ErrorInfo"].reason, dict(found["ErrorInfo"].metadata)) == ("INTERNAL", {})
    # One record with the traceback, the problemdetails logger's; grpcio logs nothing of it.
    with_traceback = [record for record in caplog.records if record.exc_info]
    assert [(record.name, record.levelno) for record in with_traceback] == [("problemdetails", logging.ERROR)]
    (record,) = with_traceback
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert (record.__dict__["problem_code"], record.__dict__["problem_status"]) == ("internal", 500)
    assert record.__dict__["request_id"] == REQUEST_ID
    assert (
        record.getMessage()
        == f"500 internal: POST /test.Zones/{method} request_id={REQUEST_ID} (unhandled RuntimeError)"
    )


def test_grpc_a_problem_is_logged_as_an_http_answer_is(channel: grpc.Channel, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="problemdetails"):
        invoke(channel, "Get", "conflict", [("x-request-id", REQUEST_ID)])
    (record,) = [record for record in caplog.records if record.name == "problemdetails"]
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    fields = {key: record.__dict__[key] for key in ("problem_code", "problem_status", "request_id", "trace_id")}
    assert fields == {"problem_code": "conflict", "problem_status": 409, "request_id": REQUEST_ID, "trace_id": None}


# -- request ids -----------------------------------------------------------------


def test_grpc_request_ids_in_and_out(channel: grpc.Channel) -> None:
    # A valid id is kept: the handler reads it, and it goes back (a unary answer's trailing metadata).
    outcome = invoke(channel, "Get", "ok", [("x-request-id", REQUEST_ID)])
    assert outcome.messages == [f"ok {REQUEST_ID}".encode()]
    assert outcome.trailing_value("x-request-id") == [REQUEST_ID]
    # None, an invalid one, or two: a new one, the same in the handler and in the metadata.
    for metadata in ([], [("x-request-id", "bad id!")], [("x-request-id", "a1"), ("x-request-id", "a2")]):
        outcome = invoke(channel, "Get", "ok", metadata)
        (sent,) = outcome.trailing_value("x-request-id")
        assert isinstance(sent, str)
        assert len(sent) == 32
        assert sent not in ("a1", "a2")
        assert outcome.messages == [f"ok {sent}".encode()]
    # A stream's goes in the initial metadata, before its first message.
    outcome = invoke(channel, "List", "ok", [("x-request-id", REQUEST_ID)])
    assert outcome.messages == [b"1", b"2", f"ok {REQUEST_ID}".encode()]
    assert (outcome.initial_value("x-request-id"), outcome.trailing_value("x-request-id")) == ([REQUEST_ID], [])
    # The handler's own initial metadata carries it.
    outcome = invoke(channel, "Get", "initial", [("x-request-id", REQUEST_ID)])
    assert outcome.initial == (("x-app", "1"), ("x-request-id", REQUEST_ID))
    assert outcome.trailing_value("x-request-id") == []
    assert problemdetails.current_request_id() is None  # nothing left behind in the caller


def test_grpc_the_id_of_a_failed_call_is_its_request_info(channel: grpc.Channel) -> None:
    outcome = invoke(channel, "Get", "conflict")
    (sent,) = outcome.trailing_value("x-request-id")
    assert details(rich_status(outcome))["RequestInfo"].request_id == sent


# -- every slug of the bundled catalog -------------------------------------------


@pytest.mark.parametrize("slug", sorted(CATALOG))
def test_grpc_every_bundled_slug_goes_out_as_its_catalog_says(channel: grpc.Channel, slug: str) -> None:
    cls = CATALOG[slug]
    examples = cls.examples()
    problem = examples[0] if examples else cls()
    outcome = invoke(channel, "Get", f"slug:{slug}")
    assert outcome.code == grpc.StatusCode[CATALOG.grpc_code(slug)]
    status = rich_status(outcome)  # its message equals grpc-message, or `from_call` refuses it
    assert status.message == outcome.details == (problem.detail if problem.detail is not None else problem.title)
    info = details(status)["ErrorInfo"]
    assert (info.reason, info.domain) == (slug.upper().replace("-", "_"), "errors.example.com")
    assert dict(info.metadata) == {name: metadata_value(value) for name, value in problem.members.items()}


# -- the Status itself, sans-IO -------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "field"),
    [
        ("#/a/b/0/c", "a.b[0].c"),  # DESIGN.md's example
        ("#/zone", "zone"),
        ("#/0/name", "[0].name"),
        ("#/first%20name", "first name"),  # the URI-fragment form's escapes undone
        ("#/a~1b/c~0d", "a/b.c~d"),  # and RFC 6901's
        ("#", ""),
        ("zone", ""),  # no pointer in URI-fragment form: no path
    ],
)
def test_grpc_field_paths_from_json_pointers(pointer: str, field: str) -> None:
    assert field_path(pointer) == field


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("zones", "zones"),
        (42, "42"),
        (0.1, "0.1"),
        (1e20, "1e20"),
        (True, "true"),
        (False, "false"),
        (["a", 1], '["a",1]'),
        ({"b": None}, '{"b":null}'),
    ],
)
def test_grpc_metadata_values_are_strings(value: object, text: str) -> None:
    assert metadata_value(value) == text


def test_grpc_metadata_datetimes_are_rfc_3339() -> None:
    import datetime as dt

    moment = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    assert metadata_value(moment) == "2026-03-01T12:30:00Z"


def test_grpc_the_responder_answers_a_call_described_as_a_request(caplog: pytest.LogCaptureFixture) -> None:
    """A gRPC server this library does not serve asks the public responder, as the interceptors do."""
    responder = Responder(CATALOG)
    request = Request("POST", "/test.Zones/Get", [("x-request-id", REQUEST_ID)])
    with caplog.at_level(logging.INFO, logger="problemdetails"):
        status = responder.rpc_status(CATALOG["gone"]("the invitation expired"), request)
    assert (status.code, status.message) == (grpc.StatusCode.NOT_FOUND.value[0], "the invitation expired")
    assert details(status)["RequestInfo"].request_id == REQUEST_ID
    assert [record.__dict__["problem_code"] for record in caplog.records] == ["gone"]
    with pytest.raises(KeyboardInterrupt):
        responder.rpc_status(KeyboardInterrupt(), request)


def test_grpc_an_upstream_problem_raised_unchanged_is_this_services_bad_gateway(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = b'{"type": "https://errors.example.com/not-found", "title": "Not found", "status": 404, "code": "not-found"'
    upstream = decode(
        404, {"content-type": "application/problem+json"}, body + b', "detail": "' + SECRET.encode() + b'"}'
    )
    with caplog.at_level(logging.INFO, logger="problemdetails"):
        status = Responder(CATALOG).rpc_status(upstream, Request("POST", "/test.Zones/Get"))
    # Its 404 is this service's upstream failure, and its text is not this service's to pass on.
    assert (status.code, status.message) == (grpc.StatusCode.UNAVAILABLE.value[0], "Bad gateway")
    assert SECRET.encode() not in status.SerializeToString()
    assert details(status)["ErrorInfo"].reason == "BAD_GATEWAY"
    assert caplog.records[0].__dict__["upstream_status"] == 404


def test_grpc_a_retry_after_date_of_the_apps_counts_from_now() -> None:
    import email.utils
    import time

    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    status = status_of(CATALOG["unavailable"](headers={"Retry-After": when}), CATALOG, None)
    assert 100 <= details(status)["RetryInfo"].retry_delay.seconds <= 120
    past = email.utils.formatdate(time.time() - 120, usegmt=True)
    status = status_of(CATALOG["unavailable"](headers={"retry-after": past}), CATALOG, None)
    assert details(status)["RetryInfo"].retry_delay.seconds == 0
    status = status_of(CATALOG["unavailable"](headers={"Retry-After": "soon"}), CATALOG, None)
    assert "RetryInfo" not in details(status)  # neither a delay nor a date: dropped, as on HTTP


def test_grpc_an_uncatalogued_problem_has_its_status_code_and_no_error_info() -> None:
    status = status_of(problemdetails.Problem(status=418), CATALOG, None)
    assert (status.code, status.message) == (grpc.StatusCode.FAILED_PRECONDITION.value[0], "I'm a teapot")
    assert details(status) == {}  # no slug, no type page, no request id


def test_grpc_a_status_that_cannot_be_built_is_the_internal_one(caplog: pytest.LogCaptureFixture) -> None:
    class Unencodable:
        pass

    problem = problemdetails.Problem(status=409, code="odd-one", type="https://odd.example/odd-one")
    problem.extensions["thing"] = Unencodable()  # msgspec cannot encode it
    status = Responder(CATALOG).rpc_status(problem, Request("POST", "/test.Zones/Get"))
    assert (status.code, status.message) == (grpc.StatusCode.INTERNAL.value[0], "Internal server error")
    assert "building the gRPC status failed" in caplog.text


def test_grpc_a_problem_of_another_catalog_keeps_its_domain(write: WriteCatalog) -> None:
    other = Catalog.load(
        write(
            HEADER.replace("errors.example.com", "errors.upstream.example") + "problems:\n"
            "  zone-locked: {status: 423, title: Zone locked, grpc: FAILED_PRECONDITION}\n"
        )
    )
    status = status_of(other["zone-locked"](), CATALOG, "r1")
    info = details(status)["ErrorInfo"]
    assert (info.reason, info.domain) == ("ZONE_LOCKED", "errors.upstream.example")


def test_grpc_enrich_adds_members_to_the_metadata() -> None:
    seen: list[Any] = []

    def colliding(problem: problemdetails.Problem, native: Any) -> problemdetails.Problem:
        seen.append(native["path"])
        return problem.with_members(conflicts=["z9"])

    responder = Responder(CATALOG, enrich=colliding)
    status = responder.rpc_status(CATALOG["conflict"](), Request("POST", "/test.Zones/Get"))
    assert dict(details(status)["ErrorInfo"].metadata) == {"conflicts": '["z9"]'}
    assert seen == ["/test.Zones/Get"]


@PROPERTY
@given(document=catalogs(), data=st.data())
def test_grpc_any_problem_of_any_catalog_has_one_status(document: dict[str, Any], data: st.DataObject) -> None:
    catalog = load(document)
    problem = problem_for(data, catalog, st.text(max_size=12))
    status = Responder(catalog, logger=logging.getLogger("silent")).rpc_status(problem, Request("POST", "/x.Y/Z"))
    assert status.message == (problem.detail if problem.detail is not None else problem.title)
    assert status.code == grpc.StatusCode[catalog.grpc_code(problem.code or "")].value[0]
    found = details(status)  # each detail at most once
    assert found["ErrorInfo"].reason == (problem.code or "").upper().replace("-", "_")
    assert set(found["ErrorInfo"].metadata) <= {member.name for member in catalog.problems[problem.code or ""].members}


# -- what importing costs --------------------------------------------------------


def test_importing_problemdetails_imports_nothing_of_grpc() -> None:
    code = (
        "import sys, problemdetails, problemdetails.client\n"
        "problemdetails.Catalog.load('catalog/')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'grpc_status') "
        "or m.startswith(('google.rpc', 'google.protobuf')))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


# -- OpenTelemetry and Sentry, in child processes -------------------------------


def child(module: str, flavor: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", module, flavor], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


@pytest.mark.parametrize("flavor", ["sync", "aio"])
def test_grpc_opentelemetry_sees_the_problem_on_the_span_and_the_counter(flavor: str) -> None:
    seen = child("tests.grpc_telemetry", flavor)
    conflict, crash, ok = seen["conflict"], seen["crash"], seen["ok"]
    # The instrumentation's server span carries the problem's code and the call's gRPC code.
    assert conflict["span"]["error.type"] == "conflict"
    assert conflict["span"]["rpc.grpc.status_code"] == grpc.StatusCode.ABORTED.value[0]
    assert conflict["span"]["status"] == "UNSET"
    assert conflict["span"]["events"] == []
    assert crash["span"]["error.type"] == "internal"
    assert crash["span"]["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0]
    assert crash["span"]["status"] == "ERROR"
    assert crash["span"]["events"] == ["RuntimeError"]  # recorded once
    assert "error.type" not in ok["span"]
    assert ok["span"]["rpc.grpc.status_code"] == 0
    # The trace id goes on the record.
    assert conflict["trace_id"] == conflict["span"]["trace_id"]
    assert seen["counter"] == [
        {"problem.code": "conflict", "http.response.status_code": 409, "rpc.grpc.status_code": 10, "count": 1},
        {"problem.code": "internal", "http.response.status_code": 500, "rpc.grpc.status_code": 13, "count": 1},
    ]


@pytest.mark.parametrize("flavor", ["sync", "aio"])
def test_grpc_sentry_answers_are_no_events_and_each_crash_is_one(flavor: str) -> None:
    seen = child("tests.sentry.rpc", flavor)
    assert seen["ok"] == {"code": "OK", "events": []}
    assert seen["conflict"] == {"code": "ABORTED", "events": []}
    assert seen["mapped"] == {"code": "NOT_FOUND", "events": []}
    assert seen["crash"]["code"] == "INTERNAL"
    (event,) = seen["crash"]["events"]
    assert event["exception"] == ["RuntimeError"]
    assert event["tags"] == {"request_id": "id-crash", "problem.code": "internal"}
    (answered,) = seen["unavailable"]["events"]  # a 5xx answer is one event, as on HTTP: its record
    assert answered["exception"] == []
    assert answered["message"] == "%s %s: %s request_id=%s"
