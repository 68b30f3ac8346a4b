"""The happy path after observability (logs, trace ids, spans, metrics, Sentry): still at its floor.

The yardstick is the same app wrapped by the middleware as it was before that
work (`BEFORE`, a commit of this repository, imported from `git archive` as
the package `problemdetails_before`), in the same process, the two taking turns.
Three processes, one per set-up:

- OpenTelemetry not installed (its import is refused);
- `opentelemetry-api` installed and imported, no SDK;
- the SDK active: a TracerProvider, every request inside a recording server span.

Target: within 1.02x of the yardstick when no SDK is active. The floor of the
work itself: `current_request_id()` needs the request in a context variable
(the one thing that follows the request into the app's tasks and threads), so
every request sets and resets one; that pair is timed in the same process and
shown beside the ratio.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "b7751df"  # the last commit before the observability work
TARGET = 1.02
SETUPS = {
    "absent": "OpenTelemetry not installed",
    "api": "`opentelemetry-api` installed and imported, no SDK",
    "sdk": "the SDK active, each request inside a recording span",
}


def before_package(folder: Path) -> Path:
    """The package as of BEFORE, as `problemdetails_before` in `folder`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", BEFORE, "problemdetails"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / "problemdetails_before"
    (folder / "problemdetails").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\bproblemdetails(?=[._ ])", "problemdetails_before", text), encoding="utf-8")
    return folder


def child(setup: str, repeat: int) -> dict[str, float]:
    """In this process: the before and after middleware on the happy path, under `setup`."""
    if setup == "absent":

        class Refuse:
            def find_spec(self, name: str, *args: Any) -> None:
                if name.split(".")[0] == "opentelemetry":
                    raise ImportError(f"{name} is not installed (refused for the benchmark)")

        sys.meta_path.insert(0, Refuse())
    import contextlib

    import problemdetails_before  # type: ignore[import-not-found]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    import problemdetails
    from benchmarks.harness import measure

    async def ok(request: Request) -> Response:
        return JSONResponse({"ok": True})

    def app() -> Starlette:
        return Starlette(routes=[Route("/zones", ok)])

    apps: dict[str, Any] = {
        "before": problemdetails_before.ProblemMiddleware(
            app(), catalog=problemdetails_before.Catalog.load(ROOT / "catalog")
        ),
        "after": problemdetails.ProblemMiddleware(app(), catalog=problemdetails.Catalog.load(ROOT / "catalog")),
    }
    span: Any = contextlib.nullcontext()
    if setup in ("api", "sdk"):
        from opentelemetry import trace

        if setup == "sdk":
            from opentelemetry.sdk.trace import TracerProvider

            trace.set_tracer_provider(TracerProvider())
            span = trace.get_tracer("bench").start_as_current_span("GET /zones", kind=trace.SpanKind.SERVER)
    with span:
        times = measure(apps, 200, requests=200, repeat=repeat)
    import timeit
    from contextvars import ContextVar

    variable: ContextVar[Any] = ContextVar("floor", default=None)
    scope: dict[str, Any] = {}
    loops = 200_000
    pair = min(timeit.repeat(lambda: variable.reset(variable.set(scope)), number=loops, repeat=5)) / loops
    return {**times, "context": pair}


def driven(which: str, requests: int) -> None:
    """In a child under callgrind: the warm-up, then `requests` more, through one of the two middlewares."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from benchmarks.harness import drive

    package = importlib.import_module("problemdetails_before" if which == "before" else "problemdetails")

    async def ok(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = package.ProblemMiddleware(Starlette(routes=[Route("/zones", ok)]), catalog=package.Catalog.load("catalog"))

    async def main() -> None:
        await drive(app, 200, 200)
        if requests:
            await drive(app, requests, 200)

    asyncio.run(main())


def instructions(path: Path, which: str, requests: int = 2000) -> float | None:
    """Instructions per request (callgrind), the warm-up and start-up cancelled out; None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    counts = []
    for n in (0, requests):
        script = f"import sys; sys.path[:0] = [{str(path)!r}, {str(ROOT)!r}]\n"
        script += f"from benchmarks.bench_observability import driven; driven({which!r}, {n})"
        command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", script]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"}
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"valgrind failed:\n{done.stderr[-2000:]}")
        counts.append(int(found[1]))
    return (counts[1] - counts[0]) / requests


def run(repeat: int = 100) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    rows = [
        "",
        f"**Happy path: a Starlette JSON route (200), against the middleware before observability ({BEFORE})**",
        "",
        "| set-up | before | after | after / before | of which the context variable (set + reset) |",
        "|---|---:|---:|---:|---:|",
    ]
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        path = before_package(Path(folder))
        for setup, label in SETUPS.items():
            script = f"import json, sys; sys.path[:0] = [{str(path)!r}, {str(ROOT)!r}]\n"
            script += "from benchmarks.bench_observability import child\n"
            script += f"print(json.dumps(child({setup!r}, {repeat})))"
            out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
            times = json.loads(out.stdout.strip().splitlines()[-1])
            ratio = times["after"] / times["before"]
            floor = 1 + times["context"] / times["before"]
            before, after, context = times["before"] * 1e6, times["after"] * 1e6, times["context"] * 1e9
            rows.append(
                f"| {label} | {before:,.2f} µs | {after:,.2f} µs | {ratio:.3f}x | {context:,.0f} ns ({floor:.3f}x) |"
            )
            if setup != "sdk":
                met = "met" if ratio <= TARGET else f"not met; the context variable alone is {floor:.3f}x"
                verdicts.append(
                    f"- Happy path, {label}: {ratio:.3f}x the middleware before (target ≤ {TARGET}x): {met}."
                )
        before_count, after_count = instructions(path, "before"), instructions(path, "after")
    if before_count is not None and after_count is not None:
        ratio = after_count / before_count
        rows.append(
            f"| OpenTelemetry not imported, counted in instructions (callgrind) | {before_count:,.0f} | "
            f"{after_count:,.0f} | {ratio:.3f}x | |"
        )
        met = "met" if ratio <= TARGET else "not met"
        verdicts.append(f"- Happy path in instructions, which do not move with the load: {ratio:.3f}x ({met}).")
    return rows, verdicts


if __name__ == "__main__":
    table, lines = run()
    print("\n".join([*table, "", *lines]))
