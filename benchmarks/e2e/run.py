"""`make bench-e2e`: the apps of `apps.py` under real servers on 127.0.0.1, driven by wrk, as ratios.

Each (system, server, route) gets fixed, bounded wrk runs with a fixed
number of keep-alive connections; results are requests/s, p50/p99 latency
and the server's CPU time per response, and ratios to problemdetails on the
same framework.

The servers of one kind run side by side, bound to their own CPU, with wrk on
the others: wrk does not take time from the server it drives. Every round
starts them afresh, so no system keeps one process's luck for the whole run.
In each round and route, problemdetails runs before and after every other
system of its framework. A cell shows the median of its runs; a ratio is
the median of a system's requests/s over ours beside it in time, so a drift
in the machine's speed moves both sides of a ratio alike.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from benchmarks.e2e.load import Load, cpu_seconds, cpu_split, drive, ensure_wrk, serve
from benchmarks.report import publish

HERE = Path(__file__).resolve().parent
ROUTES = {
    "happy path `GET /ok`": "/ok",
    "catalogued 409": "/conflict",
    "router 404": "/missing",
    "unhandled 500": "/crash",
}
ROUTES_OK = "happy path `GET /ok`"
# The happy path's yardstick (benchmarks/request_id_only.py): it answers no error, so it runs on `/ok` only.
LEAST = "least middleware (only echoes X-Request-ID)"
# (framework, system label, app attribute); the first of each framework is the bare baseline, the second ours.
SYSTEMS = [
    ("Starlette", "bare Starlette (no problem layer)", "bare_starlette"),
    ("Starlette", "problemdetails", "problemdetails_installed_starlette"),
    ("Starlette", LEAST, "request_id_only_starlette"),
    ("Starlette", "starlette-problem", "starlette_problem"),
    ("FastAPI", "bare FastAPI (no problem layer)", "bare_fastapi"),
    ("FastAPI", "problemdetails", "problemdetails_installed_fastapi"),
    ("FastAPI", LEAST, "request_id_only_fastapi"),
    ("FastAPI", "fastapi-problem", "fastapi_problem"),
    ("FastAPI", "fastapi-problem-details", "fastapi_problem_details_app"),
    ("FastAPI", "fastapi-rfc9457", "fastapi_rfc9457_app"),
]
OURS = "problemdetails"
FRAMEWORKS = ("Starlette", "FastAPI")
PEERS = ("starlette-problem", "fastapi-problem", "fastapi-problem-details", "fastapi-rfc9457")
# uvicorn as deployed (`uvicorn[standard]`): the httptools parser and the uvloop event loop.
# hypercorn as installed: h11 and asyncio.
SERVER_OPTIONS = {"uvicorn": ("--http", "httptools", "--loop", "uvloop"), "hypercorn": ()}


@dataclass
class Run:
    """One wrk run on one system: the load figures and the server's CPU time per response."""

    load: Load
    cpu_us: float


@dataclass
class Cell:
    """Every run of one system on one route, and the requests/s of ours around each of them."""

    runs: list[Run] = field(default_factory=list)
    ours_around: list[float] = field(default_factory=list)

    def median(self, value: Callable[[Run], float]) -> float:
        return statistics.median(map(value, self.runs))

    def ratio(self) -> float:
        """Median over the runs of this system's requests/s over ours just before and after it (1 for ours)."""
        if not self.ours_around:
            return 1.0
        pairs = zip(self.runs, self.ours_around, strict=True)
        return statistics.median(run.load.requests_per_second / ours for run, ours in pairs)


def measure(server: str, rounds: int, seconds: float, connections: int) -> dict[tuple[str, str, str], Cell]:
    """Every (framework, system, route) of `server`, `rounds` times.

    In each round and route, problemdetails runs before and after every other
    system of its framework (ours, A, ours, B, ours ...), so each run of
    another system has ours beside it in time: the machine's drift moves both.
    """
    server_cpu, load_cpus = cpu_split()
    cells: dict[tuple[str, str, str], Cell] = {}

    def run(
        started: dict[tuple[str, str], tuple[str, int]], framework: str, label: str, route_label: str, round_number: int
    ) -> float:
        base, pid = started[framework, label]
        path = ROUTES[route_label]
        before = cpu_seconds(pid)
        load = drive(base, [path], seconds=seconds, connections=connections, cpus=load_cpus)
        cpu_us = (cpu_seconds(pid) - before) / max(load.checked, 1) * 1e6
        cells.setdefault((framework, label, route_label), Cell()).runs.append(Run(load, cpu_us))
        print(
            f"{round_number + 1} {server:9} {framework:9} {label:32} {path:9} "
            f"{load.requests_per_second:6.0f} req/s {cpu_us:6.0f} µs CPU",
            flush=True,
        )
        return load.requests_per_second

    for round_number in range(rounds):
        # Fresh server processes every round: two processes of the same app differ
        # by a few per cent (hash seed, memory layout), as much as the happy path's
        # margin, and that luck must not stay with one system for the whole run.
        with contextlib.ExitStack() as stack:
            started = {
                (framework, label): stack.enter_context(
                    serve(HERE, f"apps:{attribute}", server=server, options=SERVER_OPTIONS[server], cpus=server_cpu)
                )
                for framework, label, attribute in SYSTEMS
            }
            for base, _ in started.values():  # warm-up: every route once over
                drive(base, list(ROUTES.values()), seconds=1, connections=connections, cpus=load_cpus)
            for route_label in ROUTES:
                for framework in FRAMEWORKS:
                    others = [
                        label
                        for name, label, _ in SYSTEMS
                        if name == framework and label != OURS and (label != LEAST or route_label == ROUTES_OK)
                    ]
                    turn = round_number % len(others)  # who goes first rotates from round to round
                    before = run(started, framework, OURS, route_label, round_number)
                    for label in others[turn:] + others[:turn]:
                        run(started, framework, label, route_label, round_number)
                        after = run(started, framework, OURS, route_label, round_number)
                        cells[framework, label, route_label].ours_around.append((before + after) / 2)
                        before = after
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="wrk duration per route, system and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over every route and system")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="uvicorn,hypercorn")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    wrk = ensure_wrk()
    servers = args.servers.split(",")
    results: dict[tuple[str, str, str, str], Cell] = {}
    for server in servers:
        for (framework, label, route_label), cell in measure(
            server, args.rounds, args.seconds, args.connections
        ).items():
            results[server, framework, label, route_label] = cell
    server_cpu, load_cpus = cpu_split()
    binding = (
        f"Each server is bound to CPU {server_cpu} and wrk to CPU {load_cpus} (taskset), so wrk does not take the"
        " server's time."
        if server_cpu is not None
        else "There is one CPU: wrk and the server share it."
    )
    lines = [
        "# End-to-end benchmark",
        "",
        "Written by `make bench-e2e` (`benchmarks/e2e/run.py`); do not edit by hand. Each app of",
        "`benchmarks/e2e/apps.py` runs under a real server on 127.0.0.1 (uvicorn with httptools and uvloop, as",
        "`uvicorn[standard]` deploys it; hypercorn with h11 and asyncio). The servers of one kind run side by side,",
        "started afresh for each round (two processes of the same app differ by a few per cent, and that luck",
        f"must not stay with one system); in each of {args.rounds} rounds wrk drives every route of every system",
        f"for {args.seconds:.0f} s with",
        f"{args.connections} keep-alive connections (2 threads). Within a round and route, problemdetails runs",
        "before and after each other system of its framework (ours, A, ours, B, ours ...; who comes first",
        f"rotates per round). {binding}",
        "problemdetails is installed in the app object (`problemdetails.install(app, catalog=...)`), the route",
        "users get; each peer is set up as its own documentation shows.",
        "Each cell is the median of its runs. `CPU/resp` is the server process's CPU time",
        "(user + system) per response: the work a request costs, which moves least with the machine's load.",
        "`ratio` is the median, over the runs, of a system's requests/s over the mean of problemdetails' runs",
        "just before and after it (above 1.00 is faster than ours). `non-problem` counts error responses whose",
        "content type is not `application/problem+json`. Servers log at level `error` without access logs:",
        "every unhandled exception is logged with its traceback, by problemdetails itself or, for a system",
        "that re-raises it, by the server. This is a shared machine: read the ratios, not the absolute numbers.",
        "",
        f"- Machine: {platform.processor() or platform.machine()}; Python {platform.python_version()}; "
        f"{subprocess.run([wrk, '--version'], capture_output=True, text=True).stdout.split(chr(10))[0].strip()}",
        "- Versions: "
        + ", ".join(
            f"{name} {version(name)}"
            for name in (
                "problemdetails",
                "starlette",
                "fastapi",
                "uvicorn",
                "httptools",
                "uvloop",
                "hypercorn",
                *PEERS,
            )
        ),
        "",
    ]
    verdicts: list[str] = []
    for server in servers:
        for route_label in ROUTES:
            lines += [
                f"## {server}: {route_label}",
                "",
                "| framework | system | req/s | p50 | p99 | CPU/resp | ratio | non-problem |",
                "|---|---|---:|---:|---:|---:|---:|---:|",
            ]
            for framework, label, _ in SYSTEMS:
                if (server, framework, label, route_label) not in results:
                    continue  # the yardstick off the happy path
                cell = results[server, framework, label, route_label]
                not_problems = sum(run.load.not_problems for run in cell.runs) if route_label != ROUTES_OK else "-"
                lines.append(
                    f"| {framework} | {label} | {cell.median(lambda run: run.load.requests_per_second):,.0f} | "
                    f"{cell.median(lambda run: run.load.p50_ms):.1f} ms | "
                    f"{cell.median(lambda run: run.load.p99_ms):.1f} ms | "
                    f"{cell.median(lambda run: run.cpu_us):,.0f} µs | {cell.ratio():.2f} | {not_problems} |"
                )
            lines.append("")
        for framework in FRAMEWORKS:
            bare = results[server, framework, SYSTEMS_BARE[framework], ROUTES_OK].ratio()
            ratio = 1 / bare
            least = results[server, framework, LEAST, ROUTES_OK].ratio() / bare
            met = "met" if ratio >= 0.95 else "NOT met"
            verdicts.append(
                f"{server}, {framework} happy path: problemdetails at {ratio:.2f}x the bare app's requests/s "
                f"(target: within 5%): **{met}**; the least middleware that echoes `X-Request-ID` at {least:.2f}x."
            )
        for route_label in list(ROUTES)[1:]:
            behind = [
                f"{label} ({framework}, {results[server, framework, label, route_label].ratio():.2f})"
                for framework, label, _ in SYSTEMS
                if label in PEERS and results[server, framework, label, route_label].ratio() >= 1
            ]
            met = "met" if not behind else "NOT met: " + ", ".join(behind) + " at least as fast"
            verdicts.append(f"{server}, {route_label}: problemdetails ahead of every peer: **{met}**.")
    lines += ["## Verdicts", "", *[f"- {verdict}" for verdict in verdicts], ""]
    lines += [(HERE / "findings.md").read_text()]
    text = "\n".join(lines)
    publish(text, args.write)
    return 0


SYSTEMS_BARE = {"Starlette": "bare Starlette (no problem layer)", "FastAPI": "bare FastAPI (no problem layer)"}

if __name__ == "__main__":
    sys.exit(main())
