"""The middleware in-process: happy-path overhead, and the error path against the peers.

Every app is driven the same way: one ASGI call per request, in one asyncio
loop, best of several repeats. Before timing, each app is checked to send
exactly one `http.response.start`, with the expected status, per request.

- Happy path: a Starlette JSON route, bare and wrapped by ProblemMiddleware.
- Error path: a route raising a catalogued 409. Each peer runs on its own
  framework (starlette-problem on Starlette; fastapi-problem,
  fastapi-problem-details and fastapi-rfc9457 on FastAPI) beside
  problemdetails on the same framework, and a "floor" route that returns the
  pre-encoded problem bytes directly: nothing can answer that error faster on
  that framework. Error-handling cost = time per request minus the floor.

"Ours" is the README's configuration, no helper:
`ProblemMiddleware(Starlette(routes), catalog=CATALOG)`. The middleware
installs its exception handlers in the app at construction, so problems take
Starlette's ordinary handler route. Beside it: the same with
`starlette_exception_handlers()` passed explicitly (the same route), and
`integrate=False`, where a problem is re-raised through every layer.

"Installed" is the route the framework's own tools get (its test client, its
dev server): `problemdetails.install(app, catalog=CATALOG)` on the same app and
route, the layer inside the app's own middleware stack, no wrapper outside.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi_problem.handler as fastapi_problem
import fastapi_problem_details
import fastapi_rfc9457
import rfc9457
import starlette_problem.handler as starlette_problem
from fastapi import FastAPI
from fastapi_rfc9457.integration import add_problem_handlers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benchmarks.harness import measure
from benchmarks.request_id_only import RequestIdInContext, RequestIdOnly
from problemdetails import Catalog, ProblemMiddleware, encode_json, install, starlette_exception_handlers
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import HandOver
from problemdetails._problem import Problem
from problemdetails._responder import Answer

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
Conflict = CATALOG["conflict"]
DETAIL = "A record with this name and type already exists in the zone."
FLOOR_BODY = encode_json(Conflict(DETAIL, instance="/zones"))


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def floor(request: Request) -> Response:
    return Response(FLOOR_BODY, 409, media_type="application/problem+json")


def starlette(endpoint: Callable[[Request], Any], **options: Any) -> Starlette:
    return Starlette(routes=[Route("/zones", endpoint)], **options)


def raises(exc_factory: Callable[[], Exception]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        raise exc_factory()

    return endpoint


def fastapi(exc_factory: Callable[[], Exception] | None, **options: Any) -> FastAPI:
    app = FastAPI(**options)

    if exc_factory is None:

        @app.get("/zones")
        async def zones_floor() -> Response:
            return Response(FLOOR_BODY, 409, media_type="application/problem+json")

    else:

        @app.get("/zones")
        async def zones() -> Response:
            raise exc_factory()

    return app


class RFC9457Conflict(fastapi_rfc9457.Problem):
    title = "Conflict"
    status = 409


class Raised(Exception):
    pass


async def pre_encoded_handler(request: Request, exc: Exception) -> Response:
    return Response(FLOOR_BODY, 409, media_type="application/problem+json")


# The error-path rows of problemdetails. OURS is the default configuration, the one the README shows.
OURS = "problemdetails (default: `ProblemMiddleware(app, catalog=...)`, no helper)"
FRAMEWORK_PATH = "the framework's exception path alone (a handler returning the floor's bytes)"
EXPLICIT = "problemdetails, `starlette_exception_handlers()` passed explicitly (the same route)"
RERAISE = "problemdetails, `integrate=False` (the re-raise route)"
INSTALLED = "problemdetails installed (`problemdetails.install(app, catalog=...)`, no wrapper)"
FREE_ANSWER = "problemdetails' design with a free answer (its handler returns the floor's bytes) alone"


def free_answer(app: Any) -> ProblemMiddleware:
    """The typed problem raised through the installed handler and the middleware, with nothing decided or built.

    What this design costs before any of its work (deciding the problem, logging and
    tracing it, instance, negotiation, request id, headers): the floor of
    `ProblemMiddleware` on this framework.
    """
    wrapped = ProblemMiddleware(app, catalog=CATALOG)
    wrapped.handover = _FreeHandOver(wrapped.responder)
    return wrapped


class _FreeHandOver(HandOver):
    """A hand-over that claims a problem as it is and answers with the floor's bytes: no deciding, no building."""

    __slots__ = ()

    def claim(self, native: Any, exc: Exception) -> Problem | None:
        return exc if isinstance(exc, Problem) else None

    def response(self, native: Any, problem: Problem, *, head_body: bool = False) -> Answer:
        headers = [(b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(FLOOR_BODY))]
        exchange = exchange_of(native)
        assert exchange is not None
        exchange.answered = 409, headers
        return Answer(409, headers, FLOOR_BODY)


def peers() -> dict[str, dict[str, Any]]:
    starlette_problem_app = starlette(raises(lambda: rfc9457.ConflictProblem(DETAIL)))
    starlette_problem.add_exception_handler(starlette_problem_app)

    fastapi_problem_app = fastapi(lambda: rfc9457.ConflictProblem(DETAIL))
    fastapi_problem.add_exception_handler(fastapi_problem_app, fastapi_problem.new_exception_handler())

    problem_details_app = fastapi(
        lambda: fastapi_problem_details.ProblemException(status=409, title="Conflict", detail=DETAIL)
    )
    fastapi_problem_details.init_app(problem_details_app)

    rfc9457_app = fastapi(lambda: RFC9457Conflict(detail=DETAIL))
    add_problem_handlers(rfc9457_app)

    return {
        "Starlette": {
            "floor: pre-encoded bytes": starlette(floor),
            FRAMEWORK_PATH: starlette(raises(Raised), exception_handlers={Raised: pre_encoded_handler}),
            OURS: ProblemMiddleware(starlette(raises(lambda: Conflict(DETAIL))), catalog=CATALOG),
            INSTALLED: install(starlette(raises(lambda: Conflict(DETAIL))), catalog=CATALOG),
            EXPLICIT: ProblemMiddleware(
                starlette(raises(lambda: Conflict(DETAIL)), exception_handlers=starlette_exception_handlers()),
                catalog=CATALOG,
            ),
            RERAISE: ProblemMiddleware(starlette(raises(lambda: Conflict(DETAIL))), catalog=CATALOG, integrate=False),
            FREE_ANSWER: free_answer(starlette(raises(lambda: Conflict(DETAIL)))),
            "starlette-problem": starlette_problem_app,
        },
        "FastAPI": {
            "floor: pre-encoded bytes": fastapi(None),
            FRAMEWORK_PATH: fastapi(Raised, exception_handlers={Raised: pre_encoded_handler}),
            OURS: ProblemMiddleware(fastapi(lambda: Conflict(DETAIL)), catalog=CATALOG),
            INSTALLED: install(fastapi(lambda: Conflict(DETAIL)), catalog=CATALOG),
            EXPLICIT: ProblemMiddleware(
                fastapi(lambda: Conflict(DETAIL), exception_handlers=starlette_exception_handlers()), catalog=CATALOG
            ),
            RERAISE: ProblemMiddleware(fastapi(lambda: Conflict(DETAIL)), catalog=CATALOG, integrate=False),
            FREE_ANSWER: free_answer(fastapi(lambda: Conflict(DETAIL))),
            "fastapi-problem": fastapi_problem_app,
            "fastapi-problem-details": problem_details_app,
            "fastapi-rfc9457": rfc9457_app,
        },
    }


def happy_apps() -> dict[str, Any]:
    return {
        "bare": starlette(ok),
        "least": RequestIdOnly(starlette(ok)),
        "least in context": RequestIdInContext(starlette(ok)),
        "wrapped": ProblemMiddleware(starlette(ok), catalog=CATALOG),
        "installed": install(starlette(ok), catalog=CATALOG),
    }


# The happy-path table's rows: (key of `happy_apps`, label).
HAPPY_ROWS = [
    ("bare", "bare Starlette"),
    ("least", "the least any middleware can do here (`RequestIdOnly`: wraps `send`, appends `X-Request-ID`)"),
    (
        "least in context",
        "the least since `current_request_id()` (`RequestIdInContext`: that, and the scope in a context variable)",
    ),
    ("wrapped", "wrapped by ProblemMiddleware (default configuration)"),
    ("installed", "installed in the app (`problemdetails.install(app, catalog=...)`)"),
]


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    import logging

    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    rows: list[str] = []
    verdicts: list[str] = []

    # Many short rounds: the machine's slow spells last longer than a few rounds of a 15 µs request,
    # so the happy path's rounds are spread over seconds, as long as the error tables take.
    happy_times = measure(happy_apps(), 200, requests=200, repeat=5 * repeat)
    bare, least, wrapped = happy_times["bare"], happy_times["least"], happy_times["wrapped"]
    in_context = happy_times["least in context"]
    rows += [
        "",
        "**Happy path: a Starlette JSON route (200)**",
        "",
        "| app | time per request | ratio to bare Starlette |",
        "|---|---:|---:|",
        *(
            f"| {label} | {happy_times[key] * 1e6:,.1f} µs | {happy_times[key] / bare:.3f}x |"
            for key, label in HAPPY_ROWS
        ),
    ]
    verdicts.append(
        f"Happy-path guard, ProblemMiddleware within 1.03x of the least middleware that echoes `X-Request-ID`: "
        f"{wrapped / least:.3f}x (**{'met' if wrapped / least <= 1.03 else 'NOT met'}**); of the least that also "
        f"keeps the request in a context variable, as `current_request_id()` needs: {wrapped / in_context:.3f}x "
        f"(**{'met' if wrapped / in_context <= 1.03 else 'NOT met'}**). That variable alone is "
        f"{in_context / least:.3f}x the least middleware."
    )
    installed = happy_times["installed"]
    verdicts.append(
        f"Happy path installed (`problemdetails.install(app, ...)`), within 1.05x of the least middleware that "
        f"keeps the request in a context variable: {installed / in_context:.3f}x "
        f"(**{'met' if installed / in_context <= 1.05 else 'NOT met'}**); the wrapper is {wrapped / in_context:.3f}x "
        f"by the same measure."
    )
    print(
        f"happy path: bare {bare * 1e6:.1f} µs, least {least * 1e6:.1f} µs, in context {in_context * 1e6:.1f} µs, "
        f"wrapped {wrapped * 1e6:.1f} µs, {wrapped / least:.3f}x the least, "
        f"installed {installed * 1e6:.1f} µs, {installed / in_context:.3f}x the least in context",
        flush=True,
    )

    for framework, apps in peers().items():
        times = measure(apps, 409, repeat=repeat)
        base = times["floor: pre-encoded bytes"]
        ours = times[OURS] - base
        rows += [
            "",
            f"**Error path on {framework}: a route raising a catalogued 409**",
            "",
            "| contender | time per request | above the floor (error-handling cost) | cost ratio to problemdetails |",
            "|---|---:|---:|---:|",
        ]
        for name, seconds in times.items():
            cost = seconds - base
            ratio = "" if name.startswith(("floor", "the framework")) else f"{cost / ours:.2f}x"
            rows.append(f"| {name} | {seconds * 1e6:,.1f} µs | {cost * 1e6:,.1f} µs | {ratio} |")
            print(f"{framework:9} {name[:40]:40} {seconds * 1e6:8.1f} µs  cost {cost * 1e6:7.1f} µs", flush=True)
        peer_names = [name for name in times if not name.startswith(("floor", "problemdetails", "the framework"))]
        closest = min(times[name] - base for name in peer_names)
        worst_peer = closest / ours
        verdicts.append(
            f"{framework}: every peer's error-handling cost is at least {worst_peer:.2f}x problemdetails' in its "
            f"default configuration (`ProblemMiddleware({framework}(...), catalog=...)`, no helper; target 2x): "
            f"**{'met' if worst_peer >= 2 else 'NOT met'}**. "
            f"`integrate=False` (the re-raise route) costs {(times[RERAISE] - base) / ours:.2f}x the default. "
            f"Its design with a free answer costs {(times[FREE_ANSWER] - base) * 1e6:.1f} µs above the floor, "
            f"the closest peer {closest * 1e6:.1f} µs: a 2x target leaves problemdetails {closest / 2 * 1e6:.1f} µs."
        )
        installed_cost = times[INSTALLED] - base
        if framework == "Starlette":
            own = times[FRAMEWORK_PATH]
            verdicts.append(
                f"Starlette 409 installed (`problemdetails.install(app, ...)`) at {times[INSTALLED] / own:.2f}x "
                f"the framework's own exception path returning the pre-encoded bytes (target ≤ 1.5x): "
                f"**{'met' if times[INSTALLED] / own <= 1.5 else 'NOT met'}**; the wrapper at "
                f"{times[OURS] / own:.2f}x; the free-answer plumbing alone at {times[FREE_ANSWER] / own:.2f}x."
            )
        else:
            others = [name for name in peer_names if name != "fastapi-problem-details"]
            pd_ratio = (times["fastapi-problem-details"] - base) / installed_cost
            closest_other = min(times[name] - base for name in others) / installed_cost
            verdicts.append(
                f"FastAPI 409 installed (`problemdetails.install(app, ...)`): fastapi-problem-details' "
                f"error-handling cost is {pd_ratio:.2f}x ours (target ≥ 1.5x by wall-clock): "
                f"**{'met' if pd_ratio >= 1.5 else 'NOT met'}**; every other peer's at least {closest_other:.2f}x "
                f"(ahead of each: **{'met' if closest_other > 1 else 'NOT met'}**). The wrapper's cost is "
                f"{(times[OURS] - base) / installed_cost:.2f}x the installed route's; the free-answer plumbing "
                f"alone costs {(times[FREE_ANSWER] - base) * 1e6:.1f} µs, ours installed {installed_cost * 1e6:.1f} µs."
            )
        if framework == "Starlette":
            own = times[FRAMEWORK_PATH]
            verdicts.append(
                f"Starlette error path, problemdetails in its default configuration, at {times[OURS] / own:.2f}x "
                f"the framework's own exception path returning the pre-encoded bytes (target ≤ 1.25x): "
                f"**{'met' if times[OURS] / own <= 1.25 else 'NOT met'}**; {times[OURS] / base:.2f}x the floor. "
                f"The design with a free answer is {times[FREE_ANSWER] / own:.2f}x that exception path: "
                f"the plumbing alone, nothing decided."
            )
    return rows, verdicts


if __name__ == "__main__":
    rows, verdicts = run()
    print("\n".join(verdicts))
