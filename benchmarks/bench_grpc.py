"""`make bench-grpc` (`python -m benchmarks.bench_grpc`): the gRPC interceptors' cost, as ratios, in GRPC.md.

In-process: a real `grpc.server` (and `grpc.aio.server`) on 127.0.0.1 and a
sync client channel in the same process, calling a unary method with bytes in
and out (no protoc). Two questions:

- The happy path: what the interceptor adds to a successful call, against the
  same server without it (target: within 1.05x). A no-op interceptor that
  wraps the behavior, as any interceptor must, is the yardstick of what grpcio
  itself charges for having one.
- The error path: a handler raising a catalogued problem through the
  interceptor, against a handler that builds the same `google.rpc.Status`
  by hand (ErrorInfo, Help, RequestInfo) and ends the call with
  `context.abort_with_status(rpc_status.to_status(...))` (target: at most 1.5x).

Wall-clock is the best of several rounds, the contenders taking turns; the
same contenders are counted in instructions by valgrind (callgrind) in child
processes, as the difference between a warm-up-only run and one with more
calls, over their number (every thread of the process counts: grpcio's C core
too). The `problemdetails` logger is at WARNING, as in the other benchmarks: a
4xx's INFO line is the app's logging, not the interceptor's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from benchmarks.report import publish
from problemdetails import Catalog
from problemdetails.grpc import AsyncProblemInterceptor, ProblemInterceptor

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
Conflict = CATALOG["conflict"]
DETAIL = "A record with this name and type already exists in the zone."
METHOD = "/bench.Zones/Get"
WARM_UP = 200

BARE = "bare server"
NO_OP = "a no-op interceptor wrapping the behavior (grpcio's own cost of one)"
OURS = "ProblemInterceptor"
OURS_AIO = "AsyncProblemInterceptor"
ID_TRAILING = "bare, the handler putting an id in the trailing metadata (what carrying one costs)"
ID_INITIAL = "bare, the handler sending an id apart in the initial metadata (`send_initial_metadata`)"
BY_HAND = "by hand: the Status built in the handler, `context.abort_with_status(rpc_status.to_status(...))`"


class NoOp(grpc.ServerInterceptor):
    """The least an interceptor that sees exceptions does: wrap the behavior in a function of its own."""

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        behavior = handler.unary_unary

        def wrapped(request: bytes, context: Any) -> Any:
            return behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(wrapped)


class AsyncNoOp(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = await continuation(details)
        behavior = handler.unary_unary

        async def wrapped(request: bytes, context: Any) -> Any:
            return await behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(wrapped)


def by_hand_status(context: Any) -> Any:
    """The same `google.rpc.Status` the interceptor sends for the conflict, built by hand."""
    request_id = next((value for key, value in context.invocation_metadata() if key == "x-request-id"), None)
    status = status_pb2.Status(code=grpc.StatusCode.ABORTED.value[0], message=DETAIL)
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(reason="CONFLICT", domain="errors.example.com", metadata={"conflicts": '["z1"]'})
    )
    link = error_details_pb2.Help.Link(description="Conflict", url="https://errors.example.com/conflict")
    status.details.add().Pack(error_details_pb2.Help(links=[link]))
    status.details.add().Pack(error_details_pb2.RequestInfo(request_id=request_id or os.urandom(16).hex()))
    return rpc_status.to_status(status)


def ok(request: bytes, context: Any) -> bytes:
    return b"ok"


ID = (("x-request-id", "0123456789abcdef0123456789abcdef"),)


def id_trailing(request: bytes, context: Any) -> bytes:
    context.set_trailing_metadata(ID)
    return b"ok"


def id_initial(request: bytes, context: Any) -> bytes:
    context.send_initial_metadata(ID)
    return b"ok"


def raising(request: bytes, context: Any) -> bytes:
    raise Conflict(DETAIL, conflicts=["z1"])


def by_hand(request: bytes, context: Any) -> bytes:
    context.abort_with_status(by_hand_status(context))
    raise AssertionError("abort_with_status returned")


async def aok(request: bytes, context: Any) -> bytes:
    return b"ok"


async def aid_trailing(request: bytes, context: Any) -> bytes:
    context.set_trailing_metadata(ID)
    return b"ok"


async def aid_initial(request: bytes, context: Any) -> bytes:
    await context.send_initial_metadata(ID)
    return b"ok"


async def araising(request: bytes, context: Any) -> bytes:
    raise Conflict(DETAIL, conflicts=["z1"])


async def aby_hand(request: bytes, context: Any) -> bytes:
    await context.abort_with_status(by_hand_status(context))
    raise AssertionError("abort_with_status returned")


# Each table: its contenders (behavior, interceptors), and whether the server is an aio one.
TABLES: dict[str, tuple[bool, dict[str, tuple[Callable[..., Any], list[Any]]]]] = {
    "sync happy": (
        False,
        {
            BARE: (ok, []),
            NO_OP: (ok, [NoOp()]),
            ID_TRAILING: (id_trailing, []),
            ID_INITIAL: (id_initial, []),
            OURS: (ok, [ProblemInterceptor(CATALOG)]),
        },
    ),
    "sync error": (
        False,
        {BY_HAND: (by_hand, []), OURS: (raising, [ProblemInterceptor(CATALOG)])},
    ),
    "aio happy": (
        True,
        {
            BARE: (aok, []),
            NO_OP: (aok, [AsyncNoOp()]),
            ID_TRAILING: (aid_trailing, []),
            ID_INITIAL: (aid_initial, []),
            OURS_AIO: (aok, [AsyncProblemInterceptor(CATALOG)]),
        },
    ),
    "aio error": (
        True,
        {BY_HAND: (aby_hand, []), OURS_AIO: (araising, [AsyncProblemInterceptor(CATALOG)])},
    ),
}


@contextmanager
def served(aio: bool, behavior: Callable[..., Any], interceptors: list[Any]) -> Iterator[Any]:
    """A unary stub calling `behavior` on a real server on 127.0.0.1, in this process."""
    handler = grpc.method_handlers_generic_handler(
        "bench.Zones", {"Get": grpc.unary_unary_rpc_method_handler(behavior)}
    )
    with ExitStack() as stack:
        if aio:
            loop = stack.enter_context(aio_loop())

            async def start() -> tuple[Any, int]:
                server = grpc.aio.server(interceptors=interceptors)
                server.add_generic_rpc_handlers((handler,))
                port = server.add_insecure_port("127.0.0.1:0")
                await server.start()
                return server, port

            server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
            stack.callback(lambda: asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(timeout=10))
        else:
            server = grpc.server(ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
            server.add_generic_rpc_handlers((handler,))
            port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            stack.callback(server.stop, None)
        channel = stack.enter_context(grpc.insecure_channel(f"127.0.0.1:{port}"))
        yield channel.unary_unary(METHOD)


@contextmanager
def aio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in a thread of its own, for an aio server that a sync client calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="aio-server", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def calls(stub: Any, count: int) -> float:
    """Seconds per call; every call is checked to end as the table expects (OK, or ABORTED with its details)."""
    started = time.perf_counter()
    for _ in range(count):
        try:
            stub(b"x", timeout=10)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.ABORTED or rpc_status.from_call(error) is None:
                raise
    return (time.perf_counter() - started) / count


def check(stub: Any, error: bool) -> None:
    """Before timing: a contender answers as its table expects (OK, or ABORTED with its three details)."""
    try:
        answer = stub(b"x", timeout=10)
    except grpc.RpcError as failed:
        status = rpc_status.from_call(failed)
        if not error or status is None or len(status.details) != 3:
            raise RuntimeError(f"unexpected status: {failed}") from failed
        return
    if error or answer != b"ok":
        raise RuntimeError(f"unexpected answer: {answer!r}")


def measure(table: str, *, count: int, rounds: int) -> dict[str, float]:
    aio, contenders = TABLES[table]
    best = dict.fromkeys(contenders, float("inf"))
    with ExitStack() as stack:
        stubs = {name: stack.enter_context(served(aio, *contender)) for name, contender in contenders.items()}
        for stub in stubs.values():
            check(stub, table.endswith("error"))
            calls(stub, 100)  # warm up
        for _ in range(rounds):
            for name, stub in stubs.items():
                best[name] = min(best[name], calls(stub, count))
    return best


# -- instructions, counted by callgrind in a child process --------------------------


def child(table: str, name: str, count: int) -> None:
    aio, contenders = TABLES[table]
    with served(aio, *contenders[name]) as stub:
        calls(stub, WARM_UP)
        if count:
            calls(stub, count)


def collected(valgrind: str, table: str, name: str, count: int) -> int:
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-m", "benchmarks.bench_grpc", "--child", table, name, str(count)]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, cwd=ROOT, check=False
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{table} / {name}: valgrind failed\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(valgrind: str, table: str, name: str, count: int) -> float:
    return (collected(valgrind, table, name, count) - collected(valgrind, table, name, 0)) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="write the report here")
    parser.add_argument("--calls", type=int, default=300, help="calls per timed round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--counted", type=int, default=300, help="calls counted by callgrind (0: no counts)")
    parser.add_argument("--child", nargs=3, metavar=("TABLE", "CONTENDER", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("problemdetails").setLevel(logging.WARNING)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    times = {table: measure(table, count=args.calls, rounds=args.rounds) for table in TABLES}
    counts: dict[str, dict[str, float]] = {}
    if args.counted:
        from benchmarks.e2e.load import debian_program

        valgrind = debian_program("valgrind")
        jobs = [(table, name) for table, (_, contenders) in TABLES.items() for name in contenders]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            counted = list(pool.map(lambda job: per_call(valgrind, job[0], job[1], args.counted), jobs))
        for (table, name), value in zip(jobs, counted, strict=True):
            counts.setdefault(table, {})[name] = value
    publish(report(times, counts, args), args.write)
    return 0


def report(times: dict[str, dict[str, float]], counts: dict[str, dict[str, float]], args: Any) -> str:
    lines = [
        "# gRPC interceptors",
        "",
        "Written by `make bench-grpc` (`benchmarks/bench_grpc.py`); do not edit by hand. In-process: a real server",
        "on 127.0.0.1 and a sync client channel in one process, a unary method with bytes in and out. Time is the",
        f"best of {args.rounds} rounds of {args.calls} calls, the contenders taking turns (this is a shared, noisy",
        "machine: read the ratios). Instructions are callgrind's count for the whole process (grpcio's C core",
        f"included) over {args.counted} calls after {WARM_UP} of warm-up; they do not move with the load.",
        "",
    ]
    verdicts: list[str] = []
    for table, contenders in times.items():
        aio = TABLES[table][0]
        error = table.endswith("error")
        base = BY_HAND if error else BARE
        ours = OURS_AIO if aio else OURS
        server = "`grpc.aio.server`" if aio else "`grpc.server`"
        title = (
            f"Error path on {server}: a handler raising a catalogued 409"
            if error
            else f"Happy path on {server}: a successful unary call"
        )
        counted = counts.get(table, {})
        lines += [
            f"**{title}**",
            "",
            "| contender | time per call | ratio | instructions per call | ratio |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, seconds in contenders.items():
            instructions = counted.get(name)
            shown = (
                f"{instructions / 1e3:,.1f}k | {instructions / counted[base]:.3f}x"
                if instructions is not None
                else "| "
            )
            lines.append(f"| {name} | {seconds * 1e6:.1f} µs | {seconds / contenders[base]:.3f}x | {shown} |")
            print(f"{table:12s} {name[:60]:60s} {seconds * 1e6:8.1f} µs", flush=True)
        lines.append("")
        target = 1.5 if error else 1.05
        ratio = contenders[ours] / contenders[base]
        measured = f"{ratio:.3f}x in time"
        if base in counted and ours in counted:
            measured += f", {counted[ours] / counted[base]:.3f}x in instructions"
        verdict = (
            f"- {title}: {ours} at {measured} of the {base.split(':')[0]} (target in time ≤ {target}x): "
            + ("**met**" if ratio <= target else "**NOT met**")
            + "."
        )
        if not error and {BARE, NO_OP, ID_TRAILING, ours} <= set(counted):
            # What no interceptor that sends the id back can avoid: grpcio's cost of an interceptor, and the id.
            floor = (counted[NO_OP] - counted[BARE]) + (counted[ID_TRAILING] - counted[BARE])
            verdict += (
                f" In instructions, an interceptor costs {counted[NO_OP] / counted[BARE]:.3f}x and the id in the"
                f" trailing metadata {counted[ID_TRAILING] / counted[BARE]:.3f}x: together"
                f" {(counted[BARE] + floor) / counted[BARE]:.3f}x, the least any interceptor sending the id back"
                f" costs; the rest, {(counted[ours] - counted[BARE] - floor) / 1e3:.1f}k instructions per call"
                f" ({(counted[ours] - counted[BARE] - floor) / counted[BARE]:.1%}), is the interceptor's own work."
            )
        verdicts.append(verdict)
    return "\n".join([*lines, *verdicts, ""])


if __name__ == "__main__":
    sys.exit(main())
