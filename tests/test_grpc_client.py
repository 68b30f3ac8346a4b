"""gRPC on the client side: `decode_grpc`, the client interceptors and retry advice, against real grpcio servers.

The servers are built without protoc: generic handlers over raw bytes, on 127.0.0.1. Each
handler ends the call as a script registered under the request's bytes says, most often
with a `google.rpc.Status` that `status_of` builds from a problem as DESIGN.md "gRPC
(pinned)" describes it, with googleapis-common-protos and grpcio-status alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from problemdetails import Catalog, DecodeError, ErrorItem, Problem
from problemdetails._grpc_codes import CODES
from problemdetails.client import (
    ProblemClientInterceptor,
    RetryPolicy,
    async_problem_interceptors,
    decode_grpc,
)
from tests.conftest import BUNDLED
from tests.test_properties import PROPERTY

CATALOG = Catalog.load(BUNDLED)
SERVICE = "test.Errors"

# What each call does, by its first request's bytes: end the call through the context.
Script = Callable[[grpc.ServicerContext], None]
SCRIPTS: dict[bytes, Script] = {}
_names = itertools.count()


def scripted(script: Script) -> bytes:
    """Register `script` and return the request that runs it."""
    name = b"script-%d" % next(_names)
    SCRIPTS[name] = script
    return name


def aborting(status: status_pb2.Status, metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A request whose call ends with `status`, as a server ends it (`abort_with_status`), and some metadata."""

    def script(context: grpc.ServicerContext) -> None:
        if metadata:
            context.send_initial_metadata(metadata)  # the trailing metadata is the Status's
        context.abort_with_status(rpc_status.to_status(status))

    return scripted(script)


def _unary(request: bytes, context: grpc.ServicerContext) -> bytes:
    if request == b"ok":
        return b"ok"
    SCRIPTS[request](context)
    raise AssertionError("the script ends the call")


def _unary_stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    yield b"first"  # the stream has started when it fails
    SCRIPTS[request](context)


def _stream_unary(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    first = next(requests)
    list(requests)
    SCRIPTS[first](context)
    raise AssertionError("the script ends the call")


def _stream_stream(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    first = next(requests)
    yield b"first"
    SCRIPTS[first](context)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "UnaryStream": grpc.unary_stream_rpc_method_handler(_unary_stream),
        "StreamUnary": grpc.stream_unary_rpc_method_handler(_stream_unary),
        "StreamStream": grpc.stream_stream_rpc_method_handler(_stream_stream),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture(scope="module")
def channel(target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(target) as channel:
        yield channel


def failed(channel: grpc.Channel, request: bytes) -> grpc.RpcError:
    """The error a unary call of `request` fails with."""
    with pytest.raises(grpc.RpcError) as raised:
        channel.unary_unary(f"/{SERVICE}/Unary")(request, timeout=10)
    return raised.value


# -- a problem's Status, as DESIGN.md pins it (the server's own builder is tested on its side) ------


def pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def metadata_text(value: Any) -> str:
    """DESIGN.md: str as is, int and float in decimal, bool true/false, datetime RFC 3339, else compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(item, ErrorItem) for item in value):
        items = [{"in" if k == "in_" else k: v for k, v in vars_of(item).items()} for item in value]
        return json.dumps(items, separators=(",", ":"))
    return json.dumps(value, separators=(",", ":"))


def vars_of(item: ErrorItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__struct_fields__ if getattr(item, name) is not None}


def field_of(item: ErrorItem) -> str:
    """`#/a/b/0/c` -> `a.b[0].c`; a parameter is its name."""
    if item.pointer is None:
        return item.parameter or ""
    path = ""
    for part in item.pointer.split("/")[1:]:
        path += f"[{part}]" if part.isdigit() else f".{part}" if path else part
    return path


def status_of(problem: Problem, catalog: Catalog = CATALOG) -> status_pb2.Status:
    assert problem.code is not None
    members = {**problem.members, **problem.extensions}
    details = [
        error_details_pb2.ErrorInfo(
            reason=problem.code.upper().replace("-", "_"),
            domain=catalog.domain,
            metadata={name: metadata_text(value) for name, value in members.items()},
        ),
        error_details_pb2.Help(links=[error_details_pb2.Help.Link(description=problem.title, url=problem.type)]),
    ]
    if problem.request_id is not None:
        details.append(error_details_pb2.RequestInfo(request_id=problem.request_id))
    assert problem.spec is not None
    if "Retry-After" in problem.spec.headers and isinstance(members.get("retry_after"), int):
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.seconds = members["retry_after"]
        details.append(retry)
    errors = members.get("errors") or []
    if errors:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=field_of(item), description=item.detail, reason=item.code)
            for item in errors
        ]
        details.append(error_details_pb2.BadRequest(field_violations=violations))
    return status_pb2.Status(
        code=CODES[catalog.grpc_code(problem.code)],
        message=problem.detail if problem.detail is not None else problem.title,
        details=[pack(detail) for detail in details],
    )


# -- decode_grpc -------------------------------------------------------------------------------


def test_decode_grpc_round_trips_every_bundled_slug(channel: grpc.Channel) -> None:
    for slug in CATALOG:
        (example,) = CATALOG[slug].examples()
        sent = example._occurrence(instance=None, request_id=f"req-{slug}")
        problem = decode_grpc(failed(channel, aborting(status_of(sent))), catalog=CATALOG)
        assert type(problem) is CATALOG[slug], slug
        assert problem == sent, slug
        assert problem.received is not None
        assert (problem.received.grpc_code, problem.received.status) == (CATALOG.grpc_code(slug), sent.status)


MEMBERS = """\
catalog: {name: Typed, base_uri: "https://errors.typed.example/"}
problems:
  typed-members:
    status: 409
    title: Typed members
    members:
      count: int
      ratio: float
      active: bool
      since: datetime
      kind: "enum[zone, record]"
      link: uri
      names: "list[str]"
      sizes: "dict[str, int]"
      errors: "list[error]"
      note: {type: "str | None", required: false}
"""


def test_decode_grpc_converts_members_back_to_their_catalog_types(channel: grpc.Channel, write: Any) -> None:
    catalog = Catalog.load(write(MEMBERS))
    errors = [
        ErrorItem(detail="too long", pointer="#/zones/0/name", code="string_too_long", params={"max_length": 63}),
        ErrorItem(detail="not an int", parameter="limit", in_="query"),
    ]
    sent = catalog["typed-members"](
        "Zone z1 conflicts",
        count=3,
        ratio=0.25,
        active=False,
        since=dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone.utc),
        kind="record",
        link="https://example.com/z1",
        names=["a", "b"],
        sizes={"a": 1},
        errors=errors,
        request_id="req_1",
    )
    problem = decode_grpc(failed(channel, aborting(status_of(sent, catalog))), catalog=catalog)
    assert problem == sent
    members = problem.members
    assert (members["count"], members["ratio"], members["active"], members["since"]) == (
        3,
        0.25,
        False,
        sent.members["since"],
    )
    assert members["errors"] == errors  # from the metadata, exactly: BadRequest cannot say `in`


def test_decode_grpc_reads_errors_from_bad_request_when_the_metadata_has_none(channel: grpc.Channel) -> None:
    violations = [
        error_details_pb2.BadRequest.FieldViolation(field="zones[0].name", description="too long", reason="TOO_LONG"),
        error_details_pb2.BadRequest.FieldViolation(field="limit", description="must be an integer"),
    ]
    status = status_pb2.Status(
        code=CODES["FAILED_PRECONDITION"],
        message="The zone is invalid.",
        details=[
            pack(error_details_pb2.ErrorInfo(reason="UNPROCESSABLE", domain="errors.example.com")),
            pack(error_details_pb2.BadRequest(field_violations=violations)),
        ],
    )
    problem = decode_grpc(failed(channel, aborting(status)), catalog=CATALOG)
    assert type(problem) is CATALOG["unprocessable"]
    assert problem.members["errors"] == [
        ErrorItem(detail="too long", pointer="#/zones/0/name", code="TOO_LONG"),
        ErrorItem(detail="must be an integer", pointer="#/limit"),
    ]
    assert problem.detail == "The zone is invalid."


@pytest.mark.parametrize(
    ("code", "message", "slug", "status", "detail"),
    [
        (grpc.StatusCode.NOT_FOUND, "no zone z1", "not-found", 404, "no zone z1"),
        (grpc.StatusCode.UNAVAILABLE, "Service unavailable", "unavailable", 503, None),  # the title: no detail
        (grpc.StatusCode.DATA_LOSS, "", "internal", 500, None),
        (grpc.StatusCode.ALREADY_EXISTS, "zone exists", "conflict", 409, "zone exists"),
    ],
)
def test_decode_grpc_without_details_is_the_problem_for_the_codes_status(
    channel: grpc.Channel, code: grpc.StatusCode, message: str, slug: str, status: int, detail: str | None
) -> None:
    def script(context: grpc.ServicerContext) -> None:
        context.abort(code, message)

    error = failed(channel, scripted(script))
    problem = decode_grpc(error, catalog=CATALOG)
    assert (type(problem), problem.status, problem.detail) == (CATALOG[slug], status, detail)
    assert problem.received is not None
    assert problem.received.grpc_code == code.name
    assert problem.response is error
    generic = decode_grpc(error)  # no catalog: about:blank with the status
    assert (type(generic), generic.type, generic.status, generic.code) == (Problem, "about:blank", status, None)


def test_decode_grpc_reads_grpcios_own_failures(target: str) -> None:
    with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as raised:
        channel.unary_unary("/test.Errors/Nope")(b"ok", timeout=10)
    problem = decode_grpc(raised.value, catalog=CATALOG)
    assert (type(problem), raised.value.code()) == (CATALOG["not-implemented"], grpc.StatusCode.UNIMPLEMENTED)


def test_decode_grpc_takes_a_reason_only_from_the_catalogs_domain(channel: grpc.Channel) -> None:
    status = status_pb2.Status(
        code=CODES["NOT_FOUND"],
        message="Book 42 not found",
        details=[
            pack(
                error_details_pb2.ErrorInfo(
                    reason="NOT_FOUND",
                    domain="library.example.org",
                    metadata={"id": "42", "errors": '[{"detail":"no such book","pointer":"#/id"}]'},
                )
            ),
            pack(
                error_details_pb2.Help(
                    links=[
                        error_details_pb2.Help.Link(
                            description="Book not found", url="https://library.example.org/errors/not-found"
                        )
                    ]
                )
            ),
        ],
    )
    problem = decode_grpc(failed(channel, aborting(status)), catalog=CATALOG)
    assert type(problem) is Problem  # the library's NOT_FOUND is not this catalog's not-found
    assert (problem.status, problem.code, problem.type, problem.title) == (
        404,
        "NOT_FOUND",
        "https://library.example.org/errors/not-found",
        "Book not found",
    )
    errors = [{"detail": "no such book", "pointer": "#/id"}]  # validation items wherever they stand
    assert (problem.detail, problem.extensions) == ("Book 42 not found", {"id": "42", "errors": errors})


def test_decode_grpc_does_not_believe_details_that_contradict_the_call(channel: grpc.Channel) -> None:
    """grpcio-status's `from_call` refuses a Status whose code or message is not the call's: so does decoding."""
    forged = status_of(CATALOG["quota-exceeded"](limit=1, current=1, resource="zones"))

    def script(context: grpc.ServicerContext) -> None:
        context.set_trailing_metadata((("grpc-status-details-bin", forged.SerializeToString()),))
        context.abort(grpc.StatusCode.NOT_FOUND, forged.message)

    problem = decode_grpc(failed(channel, scripted(script)), catalog=CATALOG)
    assert (type(problem), problem.detail) == (CATALOG["not-found"], "1 of 1 zones used")


def test_decode_grpc_request_id_falls_back_to_the_metadata(channel: grpc.Channel) -> None:
    status = status_of(CATALOG["gone"]("deleted"))
    problem = decode_grpc(failed(channel, aborting(status, (("x-request-id", "req_meta"),))), catalog=CATALOG)
    assert (type(problem), problem.request_id, problem.detail) == (CATALOG["gone"], "req_meta", "deleted")
    assert problem.received is not None
    assert problem.received.headers["x-request-id"] == "req_meta"


def test_decode_grpc_raises_decode_error_only_for_what_is_no_failed_call(channel: grpc.Channel) -> None:
    response, call = channel.unary_unary(f"/{SERVICE}/Unary").with_call(b"ok", timeout=10)
    assert response == b"ok"
    with pytest.raises(DecodeError, match="status OK is not an error"):
        decode_grpc(call)
    with pytest.raises(DecodeError, match="not a finished gRPC call"):
        decode_grpc(grpc.RpcError())
    with pytest.raises(DecodeError, match="not a finished gRPC call"):
        decode_grpc(object())


CODE_NAMES = [code for code in grpc.StatusCode if code is not grpc.StatusCode.OK]
METADATA_KEYS = st.from_regex(r"[a-z][a-z0-9_.-]{0,10}", fullmatch=True).filter(
    lambda key: not key.startswith("grpc") and not key.endswith("-bin")
)
METADATA_VALUES = st.from_regex(r"[!-~]([ -~]{0,20}[!-~])?", fullmatch=True)


@PROPERTY
@given(
    code=st.sampled_from(CODE_NAMES),
    message=st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    trailer=st.binary(max_size=200),
    metadata=st.lists(st.tuples(METADATA_KEYS, METADATA_VALUES), max_size=3),
)
def test_decode_grpc_never_raises_whatever_the_trailer(
    channel: grpc.Channel, code: grpc.StatusCode, message: str, trailer: bytes, metadata: list[tuple[str, str]]
) -> None:
    def script(context: grpc.ServicerContext) -> None:
        context.set_trailing_metadata((*metadata, ("grpc-status-details-bin", trailer)))
        context.abort(code, message)

    error = failed(channel, scripted(script))
    for catalog in (CATALOG, None):
        problem = decode_grpc(error, catalog=catalog)
        assert 400 <= problem.status <= 599


DETAIL_KINDS = ["ErrorInfo", "Help", "RequestInfo", "RetryInfo", "BadRequest", "LocalizedMessage", "Nope"]
REASONS = st.sampled_from([name.upper().replace("-", "_") for name in CATALOG]) | st.text(max_size=10)


@PROPERTY
@given(
    code=st.sampled_from(CODE_NAMES),
    message=st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    reason=REASONS,
    domain=st.sampled_from(["errors.example.com", "other.example"]),
    metadata=st.dictionaries(
        st.sampled_from(["limit", "current", "errors", "retry_after", "conflicts", "allowed", "type", "x"]),
        st.text(max_size=20) | st.sampled_from(["1", "-1", "1e999", "[]", '[{"detail":1}]', "{", "null", "true"]),
        max_size=5,
    ),
    garbage=st.lists(st.tuples(st.sampled_from(DETAIL_KINDS), st.binary(max_size=40)), max_size=4),
    request_id=st.text(st.characters(exclude_categories=["Cs"]), max_size=10),
    delay=st.integers(-(2**63), 2**63 - 1),
)
def test_decode_grpc_never_raises_whatever_the_details(
    channel: grpc.Channel,
    code: grpc.StatusCode,
    message: str,
    reason: str,
    domain: str,
    metadata: dict[str, str],
    garbage: list[tuple[str, bytes]],
    request_id: str,
    delay: int,
) -> None:
    """A well-formed Status whose details say anything: junk members, junk Any values, any delay."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.seconds = delay
    details = [
        pack(error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata=metadata)),
        pack(error_details_pb2.RequestInfo(request_id=request_id)),
        pack(retry),
        *(any_pb2.Any(type_url=f"type.googleapis.com/google.rpc.{kind}", value=value) for kind, value in garbage),
    ]
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    problem = decode_grpc(failed(channel, aborting(status)), catalog=CATALOG)
    assert 400 <= problem.status <= 599
    assert problem.received is not None
    assert problem.received.retry_after is None or 0 <= problem.received.retry_after <= 2**31


# -- retry advice -------------------------------------------------------------------------------


def test_retry_policy_reads_a_grpc_error_as_an_http_response(channel: grpc.Channel) -> None:
    policy = RetryPolicy(max_delay=30)
    limited = decode_grpc(
        failed(channel, aborting(status_of(CATALOG["rate-limited"](retry_after=12)))), catalog=CATALOG
    )
    assert limited.received is not None
    assert (limited.received.retry_after, limited.retryable, policy.delay(limited, 1)) == (12.0, True, 12.0)
    too_long = decode_grpc(
        failed(channel, aborting(status_of(CATALOG["unavailable"](retry_after=60)))), catalog=CATALOG
    )
    assert policy.delay(too_long, 1) is None  # longer than max_delay: not at all
    unavailable = decode_grpc(failed(channel, aborting(status_of(CATALOG["unavailable"]()))), catalog=CATALOG)
    delay = policy.delay(unavailable, 2)
    assert delay is not None
    assert 0 <= delay <= 1.0  # after-delay without a delay: backoff
    missing = decode_grpc(failed(channel, aborting(status_of(CATALOG["not-found"]()))), catalog=CATALOG)
    assert (missing.retryable, policy.delay(missing, 1)) == (False, None)


# -- the interceptors ---------------------------------------------------------------------------


QUOTA = CATALOG["quota-exceeded"]


def quota_request() -> bytes:
    return aborting(status_of(QUOTA(limit=5, current=5, resource="zones", request_id="req_q")))


def test_client_interceptor_raises_the_typed_problem_for_every_kind_of_method(target: str) -> None:
    with grpc.intercept_channel(grpc.insecure_channel(target), ProblemClientInterceptor(CATALOG)) as channel:
        unary = channel.unary_unary(f"/{SERVICE}/Unary")
        assert unary(b"ok", timeout=10) == b"ok"
        with pytest.raises(QUOTA) as raised:
            unary(quota_request(), timeout=10)
        assert (raised.value.members["limit"], raised.value.request_id) == (5, "req_q")
        assert isinstance(raised.value.__cause__, grpc.RpcError)
        assert raised.value.response is raised.value.__cause__
        with pytest.raises(QUOTA):
            unary.with_call(quota_request(), timeout=10)
        future = unary.future(quota_request(), timeout=10)
        assert isinstance(future.exception(), QUOTA)
        with pytest.raises(QUOTA):
            future.result()
        assert future.code() is grpc.StatusCode.RESOURCE_EXHAUSTED  # the call is still the call

        responses = channel.unary_stream(f"/{SERVICE}/UnaryStream")(quota_request(), timeout=10)
        assert next(responses) == b"first"
        with pytest.raises(QUOTA):
            next(responses)
        with pytest.raises(QUOTA):
            channel.stream_unary(f"/{SERVICE}/StreamUnary")(iter([quota_request(), b"more"]), timeout=10)
        chat = channel.stream_stream(f"/{SERVICE}/StreamStream")(iter([quota_request()]), timeout=10)
        assert next(chat) == b"first"
        with pytest.raises(QUOTA):
            list(chat)


def test_client_interceptor_without_a_catalog_raises_generic_problems(target: str) -> None:
    channel = grpc.intercept_channel(grpc.insecure_channel(target), ProblemClientInterceptor())
    with channel, pytest.raises(Problem) as raised:
        channel.unary_unary(f"/{SERVICE}/Unary")(quota_request(), timeout=10)
    # Without a catalog, no domain is known: the reason is the code, as sent, and the status the gRPC code's.
    assert (type(raised.value), raised.value.status, raised.value.code) == (Problem, 429, "QUOTA_EXCEEDED")
    assert (raised.value.title, raised.value.type) == ("Quota exceeded", "https://errors.example.com/quota-exceeded")
    assert raised.value.extensions == {"limit": "5", "current": "5", "resource": "zones"}


def test_async_interceptors_raise_the_typed_problem_for_every_kind_of_method(target: str) -> None:
    async def requests(*items: bytes) -> AsyncIterator[bytes]:
        for item in items:
            yield item

    async def drain(responses: AsyncIterator[bytes], into: list[bytes]) -> None:
        async for response in responses:
            into.append(response)

    async def calls() -> None:
        async with grpc.aio.insecure_channel(target, interceptors=async_problem_interceptors(CATALOG)) as channel:
            unary = channel.unary_unary(f"/{SERVICE}/Unary")
            assert await unary(b"ok", timeout=10) == b"ok"
            with pytest.raises(QUOTA) as raised:
                await unary(quota_request(), timeout=10)
            assert isinstance(raised.value.__cause__, grpc.aio.AioRpcError)
            assert raised.value.received is not None
            assert raised.value.received.grpc_code == "RESOURCE_EXHAUSTED"

            received: list[bytes] = []
            with pytest.raises(QUOTA):
                await drain(channel.unary_stream(f"/{SERVICE}/UnaryStream")(quota_request(), timeout=10), received)
            assert received == [b"first"]
            with pytest.raises(QUOTA):
                await channel.stream_unary(f"/{SERVICE}/StreamUnary")(requests(quota_request(), b"more"), timeout=10)
            received.clear()
            chat = channel.stream_stream(f"/{SERVICE}/StreamStream")(requests(quota_request()), timeout=10)
            with pytest.raises(QUOTA):
                await drain(chat, received)
            assert received == [b"first"]

    asyncio.run(calls())


def test_decode_grpc_reads_an_aio_error_as_a_sync_one(target: str) -> None:
    sent = CATALOG["conflict"]("name taken", conflicts=["r1"], request_id="req_c")

    async def call() -> grpc.aio.AioRpcError:
        async with grpc.aio.insecure_channel(target) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await channel.unary_unary(f"/{SERVICE}/Unary")(aborting(status_of(sent)), timeout=10)
            return raised.value

    assert decode_grpc(asyncio.run(call()), catalog=CATALOG) == sent


def test_the_grpc_side_asks_for_the_extra_when_grpcio_is_missing() -> None:
    script = (
        "import sys; sys.modules['grpc'] = None\n"
        "import problemdetails.client\n"
        "try:\n"
        "    problemdetails.client.decode_grpc\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "pip install 'problemdetails[grpc]'" in printed
