"""The happy path after observability (logs, trace ids, spans, metrics, Sentry): still at its floor.

The yardstick is the same app wrapped by the middleware as it was before that
work (`BEFORE`, a commit of this repository, imported from `git archive` as
the package `problemdetails_before`), in the same process, the two taking turns.
Three processes, one per set-up:

- OpenTelemetry not installed (its import is refused);
- `opentelemetry-api` installed and imported, no SDK;
- the SDK active: a TracerProvider, every request inside a recording server span.

Target: within 1.02x of the yardstick when no SDK is active.
"""

from __future__ import annotations

import json
import re
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

        sys.meta_path.insert(0, Refuse())  # type: ignore[arg-type]
    import contextlib

    from starlette.applications import Starlette
    from starlette.routing import Route

    import problemdetails
    import problemdetails_before  # type: ignore[import-not-found]
    from benchmarks.bench_middleware import measure, ok

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
        return measure(apps, 200, requests=200, repeat=repeat)


def run(repeat: int = 100) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    rows = [
        "",
        f"**Happy path: a Starlette JSON route (200), against the middleware before the observability work ({BEFORE})**",
        "",
        "| set-up | before | after | after / before |",
        "|---|---:|---:|---:|",
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
            rows.append(f"| {label} | {times['before'] * 1e6:,.2f} µs | {times['after'] * 1e6:,.2f} µs | {ratio:.3f}x |")
            if setup != "sdk":
                met = "met" if ratio <= TARGET else "not met"
                verdicts.append(f"- Happy path, {label}: {ratio:.3f}x the middleware before (target ≤ {TARGET}x): {met}.")
    return rows, verdicts


if __name__ == "__main__":
    table, lines = run()
    print("\n".join([*table, "", *lines]))
