"""`make bench-e2e`: the apps of `apps.py` under real servers on 127.0.0.1, driven by wrk, as ratios.

Each (system, server, route) gets a fixed, bounded wrk run with a fixed
number of keep-alive connections; results are requests/s and p50/p99
latency, and ratios to problemdetails on the same framework.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from benchmarks.e2e.load import Load, drive, ensure_wrk, serve
from benchmarks.report import publish

HERE = Path(__file__).resolve().parent
ROUTES = {
    "happy path `GET /ok`": "/ok",
    "catalogued 409": "/conflict",
    "router 404": "/missing",
    "unhandled 500": "/crash",
}
# (framework, system label, app attribute); the first of each framework is the bare baseline, the second ours.
SYSTEMS = [
    ("Starlette", "bare Starlette (no problem layer)", "bare_starlette"),
    ("Starlette", "problemdetails", "problemdetails_starlette"),
    ("Starlette", "starlette-problem", "starlette_problem"),
    ("FastAPI", "bare FastAPI (no problem layer)", "bare_fastapi"),
    ("FastAPI", "problemdetails", "problemdetails_fastapi"),
    ("FastAPI", "fastapi-problem", "fastapi_problem"),
    ("FastAPI", "fastapi-problem-details", "fastapi_problem_details_app"),
    ("FastAPI", "fastapi-rfc9457", "fastapi_rfc9457_app"),
]
PEERS = ("starlette-problem", "fastapi-problem", "fastapi-problem-details", "fastapi-rfc9457")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="wrk duration per route and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every system; the best round counts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="uvicorn,hypercorn")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    wrk = ensure_wrk()
    servers = args.servers.split(",")
    results: dict[tuple[str, str, str, str], Load] = {}
    # Rounds interleave the systems, so a burst of load from elsewhere on the machine hits
    # one round of each rather than every round of one; each cell keeps its best round.
    for round_number in range(1, args.rounds + 1):
        for server in servers:
            for framework, label, attribute in SYSTEMS:
                with serve(HERE, f"apps:{attribute}", server=server) as (base, _):
                    drive(base, ["/ok"], seconds=1, connections=args.connections)  # warm-up
                    for route_label, path in ROUTES.items():
                        load = drive(base, [path], seconds=args.seconds, connections=args.connections)
                        key = (server, framework, label, route_label)
                        if key not in results or load.requests_per_second > results[key].requests_per_second:
                            results[key] = load
                        rate = load.requests_per_second
                        print(
                            f"{round_number} {server:9} {framework:9} {label:32} {path:9} {rate:6.0f} req/s", flush=True
                        )
    lines = [
        "# End-to-end benchmark",
        "",
        "Written by `make bench-e2e` (`benchmarks/e2e/run.py`); do not edit by hand. Each app of",
        "`benchmarks/e2e/apps.py` runs under a real server on 127.0.0.1 and wrk drives one route at a time for",
        f"{args.seconds:.0f} s with {args.connections} keep-alive connections (2 threads), in {args.rounds} rounds",
        "that interleave the systems; each cell shows its best round. `ratio` is requests/s",
        "relative to problemdetails on the same framework and server (above 1.00 is faster than ours).",
        "`non-problem` counts error responses whose content type is not `application/problem+json`.",
        "Servers log at level `error` without access logs: every unhandled exception is logged with its",
        "traceback, by problemdetails itself or, for a system that re-raises it, by the server.",
        "This is a shared 2-core machine: wrk and the server compete for it, so read the ratios.",
        "",
        f"- Machine: {platform.processor() or platform.machine()}; Python {platform.python_version()}; "
        f"{subprocess.run([wrk, '--version'], capture_output=True, text=True).stdout.split(chr(10))[0].strip()}",
        "- Versions: "
        + ", ".join(
            f"{name} {version(name)}"
            for name in ("problemdetails", "starlette", "fastapi", "uvicorn", "hypercorn", *PEERS)
        ),
        "",
    ]
    verdicts: list[str] = []
    for server in servers:
        for route_label in ROUTES:
            lines += [
                f"## {server}: {route_label}",
                "",
                "| framework | system | req/s | p50 | p99 | ratio | non-problem |",
            ]
            lines.append("|---|---|---:|---:|---:|---:|---:|")
            for framework, label, _ in SYSTEMS:
                load = results[(server, framework, label, route_label)]
                ours = results[(server, framework, "problemdetails", route_label)]
                ratio = load.requests_per_second / ours.requests_per_second
                lines.append(
                    f"| {framework} | {label} | {load.requests_per_second:,.0f} | {load.p50_ms:.1f} ms | "
                    f"{load.p99_ms:.1f} ms | {ratio:.2f} | {load.not_problems if route_label != ROUTES_OK else '-'} |"
                )
            lines.append("")
        for framework in ("Starlette", "FastAPI"):
            bare = results[(server, framework, SYSTEMS_BARE[framework], "happy path `GET /ok`")]
            ours = results[(server, framework, "problemdetails", "happy path `GET /ok`")]
            ratio = ours.requests_per_second / bare.requests_per_second
            met = "met" if ratio >= 0.95 else "NOT met"
            verdicts.append(
                f"{server}, {framework} happy path: problemdetails at {ratio:.2f}x the bare app's requests/s "
                f"(target: within 5%): **{met}**."
            )
        for route_label in list(ROUTES)[1:]:
            behind = [
                f"{label} ({framework})"
                for framework, label, _ in SYSTEMS
                if label in PEERS
                and results[(server, framework, label, route_label)].requests_per_second
                >= results[(server, framework, "problemdetails", route_label)].requests_per_second
            ]
            met = "met" if not behind else "NOT met: " + ", ".join(behind) + " at least as fast"
            verdicts.append(f"{server}, {route_label}: problemdetails ahead of every peer: **{met}**.")
    lines += ["## Verdicts", "", *[f"- {verdict}" for verdict in verdicts], ""]
    lines += [(HERE / "findings.md").read_text()]
    text = "\n".join(lines)
    publish(text, args.write)
    return 0


ROUTES_OK = "happy path `GET /ok`"
SYSTEMS_BARE = {"Starlette": "bare Starlette (no problem layer)", "FastAPI": "bare FastAPI (no problem layer)"}

if __name__ == "__main__":
    sys.exit(main())
