"""Connexion 3 in-process (its AsyncApp, an ASGI app): an operation raising a 409, beside Connexion's own problems.

The contenders, each an `AsyncApp` from the same one-operation OpenAPI document:
- the floor: the operation returns the pre-encoded problem bytes itself;
- Connexion's own exception path: the operation raises, and an error handler of the app's
  (`add_error_handler`) returns those bytes (what a hand-written integration does at the least);
- Connexion's built-in problems, the nearest peer: the operation raises its `ProblemException`
  with the same members, which Connexion renders as `application/problem+json` itself;
- problemdetails installed (`problemdetails.install(app, catalog=...)`).

Driven one ASGI call per request (`benchmarks/harness.py`), the apps taking turns.
"""

from __future__ import annotations

import logging
from typing import Any

from benchmarks.bench_wsgi import CATALOG, DETAIL, FLOOR_BODY
from benchmarks.harness import measure
from benchmarks.report import error_table
from problemdetails import JSON_MEDIA_TYPE, install

FLOOR = "floor: the operation returns the pre-encoded bytes"
OWN_PATH = "Connexion's own exception path (an error handler of the app's returning the floor's bytes)"
PEER = "Connexion's built-in problems (`ProblemException`)"
INSTALLED = "problemdetails installed (`problemdetails.install(app, catalog=...)`)"
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Zones", "version": "1"},
    # The operation id names nothing: each app's resolver gives its own operation (`app_of`).
    "paths": {"/zones": {"get": {"operationId": "zones", "responses": {"409": {"description": "taken"}}}}},
}


class Raised(Exception):
    """What the own-path operation raises."""


def floor() -> Any:
    from starlette.responses import Response

    return Response(FLOOR_BODY, status_code=409, media_type=JSON_MEDIA_TYPE)


def app_of(operation: Any) -> Any:
    from connexion import AsyncApp
    from connexion.resolver import Resolver

    app = AsyncApp(__name__)
    app.add_api(SPEC, resolver=Resolver(lambda operation_id: operation))
    return app


def contenders() -> dict[str, Any]:
    from connexion.exceptions import ProblemException
    from connexion.lifecycle import ConnexionResponse

    def raising(factory: Any) -> Any:
        def operation() -> Any:
            raise factory()

        return operation

    async def answer(request: Any, exc: Exception) -> Any:  # a coroutine: Connexion runs others in a thread
        return ConnexionResponse(status_code=409, mimetype=JSON_MEDIA_TYPE, body=FLOOR_BODY)

    own = app_of(raising(Raised))
    own.add_error_handler(Raised, answer)
    peer = app_of(
        raising(
            lambda: ProblemException(
                status=409,
                title="Conflict",
                detail=DETAIL,
                type="https://errors.example.com/conflict",
                instance="/zones",
                ext={"code": "conflict"},
            )
        )
    )
    return {
        FLOOR: app_of(floor),
        OWN_PATH: own,
        PEER: peer,
        INSTALLED: install(app_of(raising(lambda: CATALOG["conflict"](DETAIL))), catalog=CATALOG),
    }


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    logging.getLogger("connexion").setLevel(logging.ERROR)  # Connexion's WARNING per 4xx problem of its own
    times = measure(contenders(), 409, requests=200, repeat=3 * repeat)
    base = times[FLOOR]
    ours = times[INSTALLED] - base
    rows = error_table("Error path on Connexion (AsyncApp): an operation raising a 409", times, FLOOR, INSTALLED)
    peer = (times[PEER] - base) / ours
    verdicts = [
        f"Connexion 409: problemdetails installed costs {ours * 1e6:.1f} µs above the floor; Connexion's built-in "
        f"problems cost {peer:.2f}x that (**{'ahead' if peer > 1 else 'NOT ahead'}**); its own exception path "
        f"returning the floor's bytes costs {(times[OWN_PATH] - base) * 1e6:.1f} µs."
    ]
    return rows, verdicts
