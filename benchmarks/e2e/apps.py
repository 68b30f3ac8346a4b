"""The same small API built with problemdetails, with each peer, and bare: what `make bench-e2e` serves.

Routes: `GET /ok` (JSON 200), `GET /conflict` (the system's own 409 problem),
`GET /crash` (an unhandled exception) and any other URL (a router 404).
Each app is a module attribute, served by uvicorn or hypercorn as
`apps:<name>`. Peers live only in the benchmark virtualenv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_problem.handler as fastapi_problem_handler
import fastapi_problem_details
import fastapi_rfc9457
import rfc9457
import starlette_problem.handler as starlette_problem_handler
from fastapi import FastAPI
from fastapi_rfc9457.integration import add_problem_handlers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benchmarks.request_id_only import RequestIdOnly
from problemdetails import Catalog, ProblemMiddleware, install, starlette_exception_handlers

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")
DETAIL = "A record with this name and type already exists in the zone."


def starlette_app(conflict: Any, **options: Any) -> Starlette:
    async def ok(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def raise_conflict(request: Request) -> Response:
        raise conflict()

    async def crash(request: Request) -> Response:
        raise RuntimeError("unhandled")

    routes = [Route("/ok", ok), Route("/conflict", raise_conflict), Route("/crash", crash)]
    return Starlette(routes=routes, **options)


def fastapi_app(conflict: Any, **options: Any) -> FastAPI:
    app = FastAPI(**options)

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/conflict")
    async def raise_conflict() -> dict[str, bool]:
        raise conflict()

    @app.get("/crash")
    async def crash() -> dict[str, bool]:
        raise RuntimeError("unhandled")

    return app


class RFC9457Conflict(fastapi_rfc9457.Problem):
    title = "Conflict"
    status = 409


def ours() -> Any:
    return CATALOG["conflict"](DETAIL)


bare_starlette = starlette_app(lambda: RuntimeError("no problem layer"))
bare_fastapi = fastapi_app(lambda: RuntimeError("no problem layer"))
# The happy path's yardstick: the least a middleware that echoes `X-Request-ID` can do.
request_id_only_starlette = RequestIdOnly(starlette_app(lambda: RuntimeError("no problem layer")))
request_id_only_fastapi = RequestIdOnly(fastapi_app(lambda: RuntimeError("no problem layer")))
problemdetails_starlette = ProblemMiddleware(
    starlette_app(ours, exception_handlers=starlette_exception_handlers()), catalog=CATALOG
)
problemdetails_fastapi = ProblemMiddleware(
    fastapi_app(ours, exception_handlers=starlette_exception_handlers()), catalog=CATALOG
)
# The route users get: installed in the app object, which is what the servers run.
problemdetails_installed_starlette = install(starlette_app(ours), catalog=CATALOG)
problemdetails_installed_fastapi = install(fastapi_app(ours), catalog=CATALOG)

starlette_problem = starlette_app(lambda: rfc9457.ConflictProblem(DETAIL))
starlette_problem_handler.add_exception_handler(starlette_problem)

fastapi_problem = fastapi_app(lambda: rfc9457.ConflictProblem(DETAIL))
fastapi_problem_handler.add_exception_handler(fastapi_problem, fastapi_problem_handler.new_exception_handler())

fastapi_problem_details_app = fastapi_app(
    lambda: fastapi_problem_details.ProblemException(status=409, title="Conflict", detail=DETAIL)
)
fastapi_problem_details.init_app(fastapi_problem_details_app)

fastapi_rfc9457_app = fastapi_app(lambda: RFC9457Conflict(detail=DETAIL))
add_problem_handlers(fastapi_rfc9457_app)
