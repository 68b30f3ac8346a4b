"""`make bench-instructions`: the middleware benchmarks counted in instructions, not time.

Times on a shared machine move with its load, and not every part of a request
moves with it alike; instruction counts do not move at all. Each app of
`bench_middleware` runs in a child process under valgrind's callgrind twice,
after the same warm-up: once with no further requests and once with `--requests`
of them. The difference over that number is the count per request (interpreter
start-up, imports and warm-up cancel out); `PYTHONHASHSEED=0` makes the runs
repeatable. The happy path is also counted in a whole uvicorn process, so the
server's own work per response (parsing, writing every header) is in the ratio.
Instructions are not time: C code (pydantic's, msgspec's) does more per
instruction than the interpreter loop does, so this explains `make bench`'s
ratios rather than replacing them. valgrind comes from Debian's packages.
The Flask error path of `bench_wsgi` is counted the same way, with its WSGI
driver.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.report import publish

WARM_UP = 200


def apps(group: str) -> tuple[dict[str, Any], int]:
    from benchmarks import bench_middleware

    if group == "happy path":
        return bench_middleware.happy_apps(), 200
    if group == "Flask":
        from benchmarks import bench_wsgi

        return bench_wsgi.flask_peers(), 409
    if group == "Tornado":
        from benchmarks import bench_tornado

        return bench_tornado.contenders(), 409
    return bench_middleware.peers()[group], 409


def child(group: str, name: str, requests: int) -> None:
    """Run inside valgrind: the warm-up, then `requests` more."""
    from benchmarks.harness import drive

    logging.getLogger("problemdetails").setLevel(logging.WARNING)
    table, status = apps(group)
    if group == "Flask":
        from benchmarks.bench_wsgi import drive as drive_wsgi

        drive_wsgi(table[name], WARM_UP, status)
        if requests:
            drive_wsgi(table[name], requests, status)
        return

    if group == "Tornado":
        from benchmarks import bench_tornado

        bench_tornado.quiet()

        async def run_tornado() -> None:  # each response is checked by `make bench`'s run
            await bench_tornado.drive(table[name], WARM_UP)
            if requests:
                await bench_tornado.drive(table[name], requests)

        asyncio.run(run_tornado())
        return

    async def run() -> None:
        await drive(table[name], WARM_UP, status)
        if requests:
            await drive(table[name], requests, status)

    asyncio.run(run())


def collected(valgrind: str, group: str, name: str, requests: int) -> int:
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-m", "benchmarks.instructions", "--child", group, name, str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{group} / {name}: valgrind failed\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(valgrind: str, group: str, name: str, requests: int) -> float:
    return (collected(valgrind, group, name, requests) - collected(valgrind, group, name, 0)) / requests


# The same happy path under a real server: the whole uvicorn process (httptools,
# uvloop) counted, with the Starlette apps of `make bench-e2e`.
SERVED = [("bare", "bare_starlette"), ("least", "request_id_only_starlette"), ("wrapped", "problemdetails_starlette")]


def served_collected(valgrind: str, attribute: str, requests: int) -> int:
    """callgrind's count for a uvicorn process that answered the warm-up and `requests` more `GET /ok`s."""
    from benchmarks.e2e.load import serve
    from benchmarks.e2e.run import HERE, SERVER_OPTIONS

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "callgrind.log"
        prefix = (valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}")
        options = SERVER_OPTIONS["uvicorn"]
        with (
            serve(HERE, f"apps:{attribute}", options=options, prefix=prefix, patience=900) as (base, _),
            httpx.Client(timeout=60) as client,
        ):
            for _ in range(WARM_UP + requests):
                client.get(f"{base}/ok").raise_for_status()
        # Stopped by SIGTERM, uvicorn shuts down cleanly and valgrind writes its summary.
        found = re.search(r"Collected : (\d+)", log.read_text())
    if found is None:
        raise RuntimeError(f"uvicorn / {attribute}: valgrind wrote no count")
    return int(found.group(1))


def served_per_response(valgrind: str, attribute: str, requests: int) -> float:
    return (served_collected(valgrind, attribute, requests) - served_collected(valgrind, attribute, 0)) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="write the report here")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--child", nargs=3, metavar=("GROUP", "APP", "REQUESTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0

    from benchmarks import bench_wsgi
    from benchmarks.bench_middleware import FRAMEWORK_PATH, HAPPY_ROWS, INSTALLED, OURS
    from benchmarks.e2e.load import debian_program

    valgrind = debian_program("valgrind")
    groups = {group: list(apps(group)[0]) for group in ("happy path", "Starlette", "FastAPI", "Flask", "Tornado")}
    jobs = [(group, name) for group, names in groups.items() for name in names]
    os.environ["PYTHONHASHSEED"] = "0"  # repeatable runs, the served ones included
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counted = pool.map(lambda job: per_request(valgrind, job[0], job[1], args.requests), jobs)
        counts = dict(zip(jobs, counted, strict=True))
        served = dict(
            zip(
                (key for key, _ in SERVED),
                pool.map(lambda row: served_per_response(valgrind, row[1], args.requests), SERVED),
                strict=True,
            )
        )

    bare = counts["happy path", "bare"]
    lines = [
        "# Instructions per request",
        "",
        "Written by `make bench-instructions` (`benchmarks/instructions.py`); do not edit by hand. The apps of",
        "[RESULTS.md](RESULTS.md)'s middleware tables, each counted by valgrind (callgrind) as the difference",
        f"between runs of {WARM_UP} warm-up requests and of {WARM_UP} + {args.requests}, over {args.requests}.",
        "Counts do not move with the machine's load; they are not time (C code does more per instruction).",
        "",
        "**Happy path: a Starlette JSON route (200)**",
        "",
        "| app | instructions per request | ratio to bare Starlette |",
        "|---|---:|---:|",
        *(
            f"| {label} | {counts['happy path', key] / 1e3:,.1f}k | {counts['happy path', key] / bare:.3f}x |"
            for key, label in HAPPY_ROWS
        ),
        "",
        "**The same happy path under uvicorn (httptools, uvloop): the whole server process**",
        "",
        "The Starlette apps of [E2E.md](E2E.md), each served by uvicorn on 127.0.0.1 under valgrind and sent the",
        "same `GET /ok` requests over one keep-alive connection; the server's parsing and writing count too.",
        "",
        "| app | instructions per response | ratio to bare Starlette |",
        "|---|---:|---:|",
        *(
            f"| {label} | {served[key] / 1e3:,.1f}k | {served[key] / served['bare']:.3f}x |"
            for key, label in HAPPY_ROWS
            if key in served  # the apps E2E.md serves
        ),
    ]
    in_context = counts["happy path", "least in context"]
    lines += [
        "",
        f"Installed (`problemdetails.install(app, ...)`) at {counts['happy path', 'installed'] / in_context:.3f}x the"
        f" least middleware that keeps the request in a context variable; the wrapper at"
        f" {counts['happy path', 'wrapped'] / in_context:.3f}x.",
    ]
    for group in ("Starlette", "FastAPI", "Flask"):
        flask = group == "Flask"
        floor = counts[group, bench_wsgi.FLOOR if flask else "floor: pre-encoded bytes"]
        ours = counts[group, bench_wsgi.OURS if flask else OURS] - floor
        installed = counts[group, bench_wsgi.INSTALLED if flask else INSTALLED]
        lines += [
            "",
            f"**Error path on {group}: a {'view' if flask else 'route'} raising a catalogued 409**",
            "",
            "| contender | instructions per request | above the floor | cost ratio to problemdetails |",
            "|---|---:|---:|---:|",
        ]
        for name in groups[group]:
            cost = counts[group, name] - floor
            ratio = "" if name.startswith(("floor", "the framework")) or " alone " in name else f"{cost / ours:.2f}x"
            lines.append(f"| {name} | {counts[group, name] / 1e3:,.1f}k | {cost / 1e3:,.1f}k | {ratio} |")
        lines += ["", f"problemdetails at {(ours + floor) / floor:.2f}x the floor's instructions, installed at"]
        lines[-1] += f" {installed / floor:.2f}x."
        if group == "Starlette":
            own = counts[group, FRAMEWORK_PATH]
            lines[-1] += (
                f" Installed at {installed / own:.2f}x the framework's own exception path (target ≤ 1.5x):"
                f" **{'met' if installed / own <= 1.5 else 'NOT met'}**."
            )
        else:
            peer = "flask-problem-details" if flask else "fastapi-problem-details"
            target = 2  # the target for FastAPI by instructions, and Flask's
            peer_cost = (counts[group, peer] - floor) / (installed - floor)
            lines[-1] += (
                f" {peer}'s error-handling cost is {peer_cost:.2f}x the installed route's (target ≥ {target}x):"
                f" **{'met' if peer_cost >= target else 'NOT met'}**."
            )
    from benchmarks import bench_tornado

    floor = counts["Tornado", bench_tornado.FLOOR]
    ours = counts["Tornado", bench_tornado.INSTALLED] - floor
    lines += [
        "",
        "**Error path on Tornado: a handler raising a catalogued 409**",
        "",
        "| contender | instructions per request | above the floor | cost ratio to problemdetails |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {counts['Tornado', name] / 1e3:,.1f}k | {(counts['Tornado', name] - floor) / 1e3:,.1f}k | "
            + ("" if name == bench_tornado.FLOOR else f"{(counts['Tornado', name] - floor) / ours:.2f}x")
            + " |"
            for name in groups["Tornado"]
        ),
        "",
        f"tornado-problem-details' error-handling cost is {(counts['Tornado', bench_tornado.PEER] - floor) / ours:.2f}x"
        " problemdetails' (target: ahead, above 1x).",
    ]
    publish("\n".join(lines) + "\n", args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
