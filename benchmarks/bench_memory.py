"""Memory: bytes allocated per error response, and the RSS of a process holding a large catalog.

- Per response: with `tracemalloc`, the peak memory one request to a Starlette
  app wrapped by the middleware allocates above what was held before it (the
  median of 500 requests, after a warm-up), for a raised catalogued 409 and for
  an unhandled exception's 500, whose ERROR record (with its traceback
  formatted) goes to a handler that drops it. Whether memory stays flat over a
  million responses is `make soak`'s question (benchmarks/SOAK.md).
- A catalog of 10,000 generated slugs (`bench_site.catalog_document`), loaded
  in a fresh process: its RSS before and after `Catalog.load` and after every
  class is built.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 2000


def per_response(kind: str) -> float:
    """The median peak bytes one error response allocates above the memory held before it."""
    import statistics

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from benchmarks.harness import drive
    from problemdetails import Catalog, ProblemMiddleware

    catalog = Catalog.load(ROOT / "catalog")

    async def endpoint(request: Request) -> Response:
        if kind == "409":
            raise catalog["conflict"]("A record with this name and type already exists in the zone.")
        raise RuntimeError("unhandled")

    logger = logging.getLogger("problemdetails")
    logger.addHandler(logging.NullHandler())  # records are made (and a 500's traceback formatted), then dropped
    logger.propagate = False
    logger.setLevel(logging.INFO)
    app = ProblemMiddleware(Starlette(routes=[Route("/zones", endpoint)]), catalog=catalog)
    status = 409 if kind == "409" else 500

    async def run() -> float:
        await drive(app, 200, status)  # warm: caches, code objects, the id block
        tracemalloc.start()
        peaks = []
        for _ in range(500):
            tracemalloc.reset_peak()
            held, _ = tracemalloc.get_traced_memory()
            await drive(app, 1, status)
            peaks.append(tracemalloc.get_traced_memory()[1] - held)
        tracemalloc.stop()
        return statistics.median(peaks)

    return asyncio.run(run())


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def catalog_rss(path: str) -> dict[str, int]:
    """In a fresh process: RSS (KiB) at start, after loading the catalog, after building every class."""
    import problemdetails

    start = rss_kib()
    catalog = problemdetails.Catalog.load(path)
    loaded = rss_kib()
    classes = [catalog[slug] for slug in catalog]
    built = rss_kib()
    return {"start": start, "loaded": loaded, "built": built, "slugs": len(classes)}


def run() -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    import yaml

    from benchmarks.bench_site import catalog_document

    rows = ["", "| error response | memory one response allocates at its peak |", "|---|---:|"]
    for kind, label in (("409", "a raised catalogued 409"), ("500", "an unhandled exception's 500")):
        script = f"import sys; sys.path[:0] = [{str(ROOT)!r}]\nfrom benchmarks.bench_memory import per_response\n"
        script += f"print(per_response({kind!r}))"
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
        peak = float(out.stdout.strip().splitlines()[-1])
        rows.append(f"| {label} | {peak / 1024:,.1f} KiB |")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_text(yaml.safe_dump(catalog_document(10_000)))
        script = f"import sys; sys.path[:0] = [{str(ROOT)!r}]\nfrom benchmarks.bench_memory import catalog_rss\n"
        script += f"import json; print(json.dumps(catalog_rss({str(path)!r})))"
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
        sizes: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    mib = 1024
    rows += [
        "",
        f"**A catalog of {sizes['slugs']:,} slugs in one process**",
        "",
        "| state | RSS |",
        "|---|---:|",
        f"| Python with problemdetails imported | {sizes['start'] / mib:,.1f} MiB |",
        f"| after `Catalog.load` | {sizes['loaded'] / mib:,.1f} MiB |",
        f"| after building every problem class | {sizes['built'] / mib:,.1f} MiB |",
    ]
    per_slug = (sizes["built"] - sizes["start"]) * 1024 / sizes["slugs"]
    return rows, [f"- The catalog costs {per_slug / 1024:,.1f} KiB of RSS per slug, classes included."]


if __name__ == "__main__":
    table, lines = run()
    print("\n".join([*table, "", *lines]))
