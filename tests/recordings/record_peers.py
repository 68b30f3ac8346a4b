"""Record what the peer libraries actually send, for tests/test_client_recordings.py.

Run in the benchmark virtualenv (which has the peers; the project never
depends on them): `.venv-bench/bin/python tests/recordings/record_peers.py`.
Writes tests/recordings/peers.json: status, headers and body of each response.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastapi_problem.handler as fastapi_problem
import fastapi_problem_details
import fastapi_rfc9457
import rfc9457
import starlette_problem.handler as starlette_problem
from fastapi import FastAPI
from fastapi_rfc9457.integration import add_problem_handlers
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient


class Zone(BaseModel):
    name: str


class RFC9457Conflict(fastapi_rfc9457.Problem):
    title = "Conflict"
    status = 409


def fastapi_app(exc: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/zones")
    async def zones() -> None:
        raise exc

    @app.post("/zones")
    async def create(zone: Zone) -> None:
        return None

    return app


def record(app: Any) -> list[dict[str, Any]]:
    client = TestClient(app, raise_server_exceptions=False)
    responses = [client.get("/zones"), client.post("/zones", json={"wrong": 1}), client.get("/nowhere")]
    return [
        {
            "request": f"{r.request.method} {r.request.url.path}",
            "status": r.status_code,
            "headers": {k: v for k, v in r.headers.items() if k in ("content-type", "retry-after", "x-request-id")},
            "body": r.text,
        }
        for r in responses
    ]


def main() -> None:
    async def conflict(request: Request) -> None:
        raise rfc9457.ConflictProblem("Zone exists.")

    starlette_app = Starlette(routes=[Route("/zones", conflict, methods=["GET", "POST"])])
    starlette_problem.add_exception_handler(starlette_app)

    problem_app = fastapi_app(rfc9457.ConflictProblem("Zone exists."))
    fastapi_problem.add_exception_handler(problem_app, fastapi_problem.new_exception_handler())

    details_app = fastapi_app(
        fastapi_problem_details.ProblemException(status=409, title="Conflict", detail="Zone exists.")
    )
    fastapi_problem_details.init_app(details_app)

    rfc_app = fastapi_app(RFC9457Conflict(detail="Zone exists."))
    add_problem_handlers(rfc_app)

    recordings = {
        "starlette-problem": record(starlette_app),
        "fastapi-problem": record(problem_app),
        "fastapi-problem-details": record(details_app),
        "fastapi-rfc9457": record(rfc_app),
    }
    out = Path(__file__).with_name("peers.json")
    out.write_text(json.dumps(recordings, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
