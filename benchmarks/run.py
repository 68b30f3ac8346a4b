"""`make bench` (`python -m benchmarks.run`): every benchmark in one run, written to RESULTS.md as ratios."""

from __future__ import annotations

import argparse
import platform
import sys
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path

from benchmarks import (
    bench_aiohttp,
    bench_connexion,
    bench_encode,
    bench_memory,
    bench_middleware,
    bench_ninja,
    bench_observability,
    bench_pyramid,
    bench_sanic,
    bench_site,
    bench_tornado,
    bench_wsgi,
)
from benchmarks.report import publish

PACKAGES = (
    "problemdetails",
    "msgspec",
    "starlette",
    "fastapi",
    "pydantic",
    "starlette-problem",
    "fastapi-problem",
    "fastapi-problem-details",
    "fastapi-rfc9457",
    "flask",
    "werkzeug",
    "flask-problem-details",
    "django",
    "djangorestframework",
    "drf-problems",
    "drf-standardized-errors",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "aiohttp",
    "tornado",
    "tornado-problem-details",
    "sanic",
    "django-ninja",
    "django-ninja-problems",
    "pyramid",
    "connexion",
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}; {platform.system()} {platform.release()}; Python {platform.python_version()}"


def installed(name: str) -> str:
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:  # tornado-problem-details is installed apart (its package is `problemdetails` too)
        for found in distributions(path=[str(bench_tornado.PEER_DIR)]):
            if found.metadata["Name"] == name:
                return f"{name} {found.version}"
        return f"{name} (not installed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="write RESULTS.md here")
    args = parser.parse_args()
    encode_rows, encode_verdicts = bench_encode.run()
    middleware_rows, middleware_verdicts = bench_middleware.run()
    observability_rows, observability_verdicts = bench_observability.run()
    wsgi_rows, wsgi_verdicts = bench_wsgi.run()
    aiohttp_rows, aiohttp_verdicts = bench_aiohttp.run()
    tornado_rows, tornado_verdicts = bench_tornado.run()
    sanic_rows, sanic_verdicts = bench_sanic.run()
    ninja_rows, ninja_verdicts = bench_ninja.run()
    pyramid_rows, pyramid_verdicts = bench_pyramid.run()
    connexion_rows, connexion_verdicts = bench_connexion.run()
    site_rows, site_verdicts = bench_site.run()
    languages_rows, languages_verdicts = bench_site.run_languages()
    memory_rows, memory_verdicts = bench_memory.run()
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            "Written by `make bench` (`benchmarks/run.py`); do not edit by hand. All contenders run in one process;",
            "in each table they take turns, and each time is the best of several repeats. Ratios are what to read:",
            "absolute times move with the machine's load (this is a shared, noisy machine).",
            "",
            "Under real servers and load: [E2E.md](E2E.md) (`make bench-e2e`) and [SOAK.md](SOAK.md) (`make soak`).",
            "The middleware tables counted in instructions, which do not move with the load:",
            "[INSTRUCTIONS.md](INSTRUCTIONS.md) (`make bench-instructions`).",
            "",
            f"- Machine: {machine()}",
            f"- Versions: {', '.join(installed(name) for name in PACKAGES)}",
            "",
            "## Encoding to `application/problem+json` bytes",
            *encode_rows,
            "",
            *[line for verdict in encode_verdicts for line in (verdict, "")],
            "## The middleware, in-process",
            "",
            "Each app answers `GET /zones` through a direct ASGI call; before timing, every request is checked to get",
            "exactly one `http.response.start` with the expected status. The floor route returns the pre-encoded",
            "problem bytes itself: the error-handling cost of a contender is its time above that floor.",
            "problemdetails is measured as the README configures it, `ProblemMiddleware(Starlette(routes),",
            "catalog=...)` with no helper: the middleware installs its exception handlers in the app at construction.",
            *middleware_rows,
            "",
            *[line for verdict in middleware_verdicts for line in (verdict, "")],
            "## The happy path after observability",
            "",
            "Logs, trace ids, spans, metrics and Sentry cost nothing on the happy path but one context variable,",
            "set and reset per request so that `current_request_id()` follows the request into the app's tasks",
            "and threads. Each set-up runs in a process of its own; in each, the middleware as it was before that",
            "work (the package at that commit, renamed `problemdetails_before`) and as it is now take turns on the",
            "same Starlette route. The last row counts instructions under callgrind, which no load moves.",
            *observability_rows,
            "",
            *[line for verdict in observability_verdicts for line in (verdict, "")],
            "## WSGI, in-process",
            "",
            "Each app answers `GET /zones` through a direct WSGI call, as a server makes it without the socket: a",
            "prepared environ, a `start_response` that records the status, the iterable consumed and its `close()`",
            "called. Before timing, every contender is checked to call `start_response` once with the expected",
            "status; the content type it answers with is in the tables. The yardstick `RequestIdOnlyWSGI`",
            "(`benchmarks/request_id_only.py`) only appends `X-Request-ID` in `start_response`. On the error path",
            "each framework has its floor, its view returning the pre-encoded problem bytes itself, and every",
            "contender runs on an app of its own, without any middleware but its library's.",
            "",
            "Django is configured once per process, so the Django REST framework contenders share one settings",
            "object, with problemdetails' `EXCEPTION_HANDLER` in it as the README sets it. Each contender is a",
            "Django WSGI handler of its own whose requests carry their own URLconf (Django's `request.urlconf`,",
            "set on the handler's request class: one route, `/zones`, for every contender, and no extra",
            "middleware), and a peer's view picks its library's exception handler by overriding",
            "`APIView.get_exception_handler`, which is how DRF reads that setting for every view. The peers raise a",
            "DRF `APIException` with status 409, as their docs show; Django's WARNING log line for every 4xx",
            "response (the same for every contender) is turned off.",
            *wsgi_rows,
            "",
            *[line for verdict in wsgi_verdicts for line in (verdict, "")],
            "## aiohttp, in-process",
            "",
            "Each app answers `GET /zones` through `Application._handle`, what aiohttp's server calls for a request,",
            "with a `web.Request` made as its server makes one, minus the socket; each response is checked for its",
            "status and media type before timing. aiohttp has no maintained problem-details peer: its own exception",
            "path (a middleware of the app's catching the exception and returning the floor's bytes) is the yardstick.",
            *aiohttp_rows,
            "",
            *[line for verdict in aiohttp_verdicts for line in (verdict, "")],
            "## Tornado, in-process",
            "",
            "Each application answers `GET /zones` as Tornado's server hands it a request (`find_handler`, then",
            "the handler's `execute`), over a connection object that keeps what the handler writes instead of a",
            "socket; each response is checked for its status and media type before timing. The nearest peer is",
            "tornado-problem-details (its `ErrorWriter` mixin, raising its `Problem` with the same members); Tornado's",
            "own exception path (`HTTPError`, a `write_error` writing the floor's bytes) is the yardstick.",
            *tornado_rows,
            "",
            *[line for verdict in tornado_verdicts for line in (verdict, "")],
            "## Sanic, in-process",
            "",
            "Each app, started through the ASGI lifespan protocol, answers `GET /zones` as the ASGI app Sanic also",
            "is; each response is checked for its status before timing. Sanic has no maintained problem-details",
            "peer: its own exception path (an exception handler of the app's returning the floor's bytes) is the",
            "yardstick.",
            *sanic_rows,
            "",
            *[line for verdict in sanic_verdicts for line in (verdict, "")],
            "## Django Ninja, in-process",
            "",
            "Each contender is a Django WSGI handler of its own whose requests resolve `/zones` to a Ninja API of",
            "its own (the Django settings of the DRF table above), driven as that table's are. The nearest peer is",
            "django-ninja-problems (`register_problem_handlers(api)`, raising its `ConflictProblem`).",
            *ninja_rows,
            "",
            *[line for verdict in ninja_verdicts for line in (verdict, "")],
            "## Pyramid, in-process",
            "",
            "Each app, made by a `Configurator` of its own, is called as the WSGI app it is, driven as the WSGI",
            "tables above are. Pyramid has no maintained problem-details peer: its own exception path (an",
            "exception view of the app's returning the floor's bytes) is the yardstick.",
            *pyramid_rows,
            "",
            *[line for verdict in pyramid_verdicts for line in (verdict, "")],
            "## Connexion, in-process",
            "",
            "Each contender is an `AsyncApp` from the same one-operation OpenAPI document, driven one ASGI call per",
            "request. The nearest peer is Connexion's own problem documents (its `ProblemException`).",
            *connexion_rows,
            "",
            *[line for verdict in connexion_verdicts for line in (verdict, "")],
            "## Building the doc site",
            "",
            "Generated catalogs (Markdown description and resolution, typed members, an example, a parent for most),",
            "each built cold into a fresh folder: load and validate the YAML, render every page, schema and",
            "`openapi.json`, write the files. The best of three runs (one at 10,000 slugs).",
            *site_rows,
            "",
            *[line for verdict in site_verdicts for line in (verdict, "")],
            "## The doc site in more languages",
            "",
            "One generated catalog (as above) and its translations, built cold into a fresh folder with 1 to 9",
            "languages. The best of three runs.",
            *languages_rows,
            "",
            *[line for verdict in languages_verdicts for line in (verdict, "")],
            "## Memory",
            "",
            "What one error response allocates at its peak (`tracemalloc`, the median of 500 requests through",
            "`ProblemMiddleware` on Starlette, records made and dropped), and the RSS of a fresh process that loads a",
            "catalog of 10,000 generated slugs. Flatness over a million responses: [SOAK.md](SOAK.md).",
            *memory_rows,
            "",
            *[line for verdict in memory_verdicts for line in (verdict, "")],
        ]
    )
    publish(text, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
