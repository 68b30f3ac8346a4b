"""Real servers on 127.0.0.1 and wrk driving them: shared by `make bench-e2e` and `make soak`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CHECK = Path(__file__).with_name("check.lua")


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed on first use."""
    return debian_program("wrk")


def debian_program(name: str) -> str:
    """The path of `name`, installed from Debian's package of the same name when missing."""
    found = shutil.which(name)
    if found is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", name], check=True, capture_output=True)
        found = shutil.which(name)
    assert found is not None, f"{name} could not be installed"
    return found


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """`command` bound to `cpus` (e.g. "1", "0-2") with util-linux's taskset; unchanged for None."""
    return command if cpus is None else ["taskset", "-c", cpus, *command]


def cpu_split() -> tuple[str | None, str | None]:
    """(the server's CPU, the load generator's CPUs): apart, so that wrk does not take the server's time.

    With one CPU there is nothing to split, and neither is bound.
    """
    last = (os.cpu_count() or 1) - 1
    if last == 0:
        return None, None
    return str(last), "0" if last == 1 else f"0-{last - 1}"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its children (hypercorn's worker)."""
    total = 0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in (pid, *map(int, children)):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(
    app_dir: Path,
    app: str,
    *,
    python: str = sys.executable,
    server: str = "uvicorn",
    options: tuple[str, ...] = (),
    cpus: str | None = None,
    prefix: tuple[str, ...] = (),
    patience: float = 30,
) -> Iterator[tuple[str, int]]:
    """Run `app` (module:attribute in `app_dir`) under uvicorn or hypercorn on 127.0.0.1; yields (base URL, pid).

    `options` go to the server's command line; `cpus` binds the server to those CPUs;
    `prefix` runs the server under another program (valgrind), which may need more
    than the default `patience` seconds to start and to stop.
    """
    port = free_port()
    # Errors are logged, as in any service: a peer that re-raises an unhandled
    # exception has the server log it (with its traceback), as problemdetails logs
    # its own. Access logs are off for everyone.
    if server == "uvicorn":
        command = [python, "-m", "uvicorn", "--app-dir", str(app_dir), app, "--host", "127.0.0.1"]
        command += ["--port", str(port), "--log-level", "error", "--no-access-log"]
    else:
        command = [python, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "--log-level", "error", app]
    command = pinned([*prefix, *command, *options], cpus)
    process = subprocess.Popen(command, cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + patience
        while True:  # bounded: gives up at the deadline
            try:
                httpx.get(f"{base}/ok", timeout=patience / 15)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{app} did not start under {server}") from None
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=patience / 3)


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    checked: int
    not_problems: int


def drive(
    base: str, paths: list[str], *, seconds: float, connections: int = 32, threads: int = 2, cpus: str | None = None
) -> Load:
    """wrk for `seconds` with `connections` keep-alive connections, cycling through `paths` (on `cpus` if given)."""
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "-s",
        str(CHECK),
        base,
        "--",
        *paths,
    ]
    output = subprocess.run(
        pinned(command, cpus), capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    checked, bad = map(int, re.search(r"checked (\d+) responses, (\d+) not problems", output).groups())  # type: ignore[union-attr]
    p50, p99 = map(int, re.search(r"latency p50 (\d+) p99 (\d+)", output).groups())  # type: ignore[union-attr]
    return Load(rate, p50 / 1000, p99 / 1000, checked, bad)


def rss(pid: int | str = "self") -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
