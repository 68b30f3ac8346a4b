"""A small gRPC service defined without protoc (bytes in, bytes out), served for real on 127.0.0.1.

`test.Zones` has one method of each kind: `Get` (unary-unary), `List` (unary-stream),
`Upload` (stream-unary) and `Chat` (stream-stream). What a call does is its
(first) request message, one of `OUTCOMES`; a streaming response sends `b"1"`
and `b"2"` first, so that what fails, fails after the response started.

Three servers serve it (`serve`): `sync` (`grpc.server`, sync handlers), `aio`
(`grpc.aio.server`, coroutines, an async generator and the reader/writer style)
and `aio-sync` (`grpc.aio.server` running the sync handlers in its threads).
Used by tests/test_grpc.py, by the child processes of the OpenTelemetry and
Sentry tests, and by the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import grpc.aio

from problemdetails import Catalog, ErrorItem, current_request_id
from tests.conftest import BUNDLED

CATALOG = Catalog.load(BUNDLED)
SECRET = "db password is hunter2"
SERVICE = "test.Zones"
METHODS = {"Get": "unary_unary", "List": "unary_stream", "Upload": "stream_unary", "Chat": "stream_stream"}
FLAVORS = ["sync", "aio", "aio-sync"]


class ZoneMissing(LookupError):
    """An exception of the app's own, mapped to `not-found` (`EXCEPTION_MAP`)."""


EXCEPTION_MAP: dict[type[BaseException], str] = {ZoneMissing: "not-found"}

ITEMS = [
    ErrorItem(detail="must be at least 3 characters", pointer="#/zone/records/0/name", code="string_too_short"),
    ErrorItem(detail="must be an integer", parameter="limit", in_="query"),
]


def outcome(what: str, context: Any) -> bytes:
    """What a call does once its messages are in: answer, raise, or end the call itself."""
    if what == "ok":
        return f"ok {current_request_id()}".encode()
    if what == "conflict":
        raise CATALOG["conflict"]("zone example.org exists", conflicts=["z1", "z2"])
    if what == "crash":
        raise RuntimeError(SECRET)
    if what == "rate":
        raise CATALOG["rate-limited"](retry_after=30)
    if what == "invalid":
        raise CATALOG["unprocessable"](errors=ITEMS)
    if what == "mapped":
        raise ZoneMissing(SECRET)
    if what == "unavailable":
        raise CATALOG["unavailable"](retry_after=600)
    if what.startswith("slug:"):  # every slug of the bundled catalog, as its first example
        cls = CATALOG[what.removeprefix("slug:")]
        examples = cls.examples()
        raise examples[0] if examples else cls()
    if what == "trailing":  # trailing metadata of the handler's own, then a problem
        context.set_trailing_metadata((("x-app", "kept"),))
        raise CATALOG["conflict"]("zone example.org exists")
    raise AssertionError(what)


# -- sync handlers ---------------------------------------------------------------


def get(request: bytes, context: Any) -> bytes:
    what = request.decode()
    if what == "abort":
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the handler's own")
    if what == "initial":  # initial metadata of the handler's own, before the response
        context.send_initial_metadata((("x-app", "1"),))
        return b"ok"
    if what == "context":  # what a handler may ask of its context (an aio server's, for a sync handler, less)
        names = ["invocation_metadata", "peer", "time_remaining", "is_active", "code", "details", "trailing_metadata"]
        asked = []
        for name in names:
            try:
                asked.append(getattr(context, name)())
            except AttributeError:  # not NotImplementedError: what the server's context lacks, ours lacks too
                continue
        return repr([[tuple(pair) for pair in asked[0]], asked[1]]).encode()
    return outcome(what, context)


def list_(request: bytes, context: Any) -> Iterator[bytes]:
    yield b"1"
    yield b"2"
    answer = get(request, context)
    yield answer


def upload(requests: Iterator[bytes], context: Any) -> bytes:
    first, *_ = list(requests)
    return get(first, context)


def chat(requests: Iterator[bytes], context: Any) -> Iterator[bytes]:
    for request in requests:
        yield from list_(request, context)


SYNC = {"Get": get, "List": list_, "Upload": upload, "Chat": chat}


# -- asyncio handlers ------------------------------------------------------------


async def aget(request: bytes, context: Any) -> bytes:
    what = request.decode()
    if what == "abort":
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "the handler's own")
    if what == "initial":
        await context.send_initial_metadata((("x-app", "1"),))
        return b"ok"
    if what == "context":
        names = ["invocation_metadata", "peer", "time_remaining", "done", "cancelled", "code", "details"]
        asked = [getattr(context, name)() for name in [*names, "trailing_metadata"]]
        context.add_done_callback(lambda context: None)
        return repr([[tuple(pair) for pair in asked[0]], asked[1]]).encode()
    await asyncio.sleep(0)  # a coroutine that awaits: the call's scope must survive it
    return outcome(what, context)


async def alist(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield b"1"
    await asyncio.sleep(0)
    yield b"2"
    yield await aget(request, context)


async def aupload(requests: AsyncIterator[bytes], context: Any) -> bytes:
    received = [request async for request in requests]
    return await aget(received[0], context)


async def achat(requests: Any, context: Any) -> None:
    """The reader/writer style: a coroutine that reads and writes through its context."""
    request = await context.read()
    await context.write(b"1")
    await context.write(b"2")
    await context.write(await aget(request, context))


ASYNC = {"Get": aget, "List": alist, "Upload": aupload, "Chat": achat}


def handler(behaviors: dict[str, Any]) -> Any:
    """`test.Zones` with these behaviors, bytes in and bytes out."""
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {name: getattr(grpc, f"{kind}_rpc_method_handler")(behaviors[name]) for name, kind in METHODS.items()},
    )


@contextlib.contextmanager
def serve(flavor: str, interceptors: Iterable[Any]) -> Iterator[grpc.Channel]:
    """A channel to `test.Zones` served by a real server of `flavor` on 127.0.0.1 (a free port)."""
    if flavor == "sync":
        server = grpc.server(ThreadPoolExecutor(max_workers=4), interceptors=list(interceptors))
        server.add_generic_rpc_handlers((handler(SYNC),))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield channel
        finally:
            server.stop(None)
        return
    with aio_loop() as loop:

        async def start() -> tuple[Any, int]:
            server = grpc.aio.server(ThreadPoolExecutor(max_workers=4), interceptors=list(interceptors))
            server.add_generic_rpc_handlers((handler(SYNC if flavor == "aio-sync" else ASYNC),))
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            return server, port

        aio_server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield channel
        finally:
            asyncio.run_coroutine_threadsafe(aio_server.stop(None), loop).result(timeout=10)


@contextlib.contextmanager
def aio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, for an aio server that a sync client calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="aio-server", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class Outcome:
    """What the client saw of one call: the messages, the status, and both metadata."""

    def __init__(self, call: Any, messages: list[bytes]) -> None:
        self.messages = messages
        self.code: grpc.StatusCode = call.code()
        self.details: str | None = call.details()
        self.initial = tuple(call.initial_metadata() or ())
        self.trailing = tuple(call.trailing_metadata() or ())
        self.call = call

    def initial_value(self, key: str) -> list[str | bytes]:
        return [value for name, value in self.initial if name == key]

    def trailing_value(self, key: str) -> list[str | bytes]:
        return [value for name, value in self.trailing if name == key]


def invoke(channel: grpc.Channel, method: str, what: str, metadata: Iterable[tuple[str, str]] = ()) -> Outcome:
    """Call `method` with `what` (as each request message of a client stream), and keep what came back."""
    path = f"/{SERVICE}/{method}"
    kind = METHODS[method]
    request = what.encode()
    stub = getattr(channel, kind)(path)
    options: dict[str, Any] = {"metadata": tuple(metadata), "timeout": 20}
    if kind in ("unary_unary", "stream_unary"):
        argument: Any = request if kind == "unary_unary" else iter([request, b"ignored"])
        try:
            response, call = stub.with_call(argument, **options)
        except grpc.RpcError as error:
            return Outcome(error, [])
        return Outcome(call, [response])
    call = stub(request if kind == "unary_stream" else iter([request]), **options)
    messages: list[bytes] = []
    with contextlib.suppress(grpc.RpcError):
        messages.extend(call)
    return Outcome(call, messages)
