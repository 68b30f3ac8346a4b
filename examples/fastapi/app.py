"""A FastAPI app whose OpenAPI document describes every error it can answer, from the catalog.

Run it: `uvicorn --app-dir examples/fastapi app:app`, then open /docs. Each
route declares the problems it raises with `responses=problem_responses(...)`;
`document_problems(api, CATALOG)` adds the catalog's schemas, swaps FastAPI's
422 for the catalog's `unprocessable` problem and documents the 500 every route
can answer. `tests/test_openapi.py` validates the document and runs
schemathesis against the app, so what it returns must match what it documents.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from fastapi import FastAPI, Response
from pydantic import BaseModel, Field

from problemdetails import Catalog, ProblemMiddleware, document_problems, problem_responses

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")
Conflict = CATALOG["conflict"]
QuotaExceeded = CATALOG["quota-exceeded"]
NotFound = CATALOG["not-found"]
Gone = CATALOG["gone"]
PLAN_LIMIT = 50


class ZoneIn(BaseModel):
    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9-]+$")


class Zone(BaseModel):
    id: str
    name: str


api = FastAPI(title="Zones API")
zones: dict[str, Zone] = {}
deleted: set[str] = set()
ids = itertools.count(1)


@api.post("/zones", status_code=201, responses=problem_responses(Conflict, QuotaExceeded))
async def create_zone(zone: ZoneIn) -> Zone:
    taken = [existing.id for existing in zones.values() if existing.name == zone.name]
    if taken:
        raise Conflict(f"A zone called {zone.name} exists.", conflicts=taken)
    if len(zones) >= PLAN_LIMIT:
        raise QuotaExceeded(limit=PLAN_LIMIT, current=len(zones), resource="zones")
    created = Zone(id=f"z{next(ids)}", name=zone.name)
    zones[created.id] = created
    return created


@api.get("/zones/{zone_id}", responses=problem_responses(NotFound, Gone))
async def get_zone(zone_id: str) -> Zone:
    if zone_id in deleted:
        raise Gone(f"Zone {zone_id} was deleted.")
    if zone_id not in zones:
        raise NotFound(f"No zone {zone_id}.")
    return zones[zone_id]


@api.delete("/zones/{zone_id}", status_code=204, responses=problem_responses(NotFound, Gone))
async def delete_zone(zone_id: str) -> Response:
    if zone_id in deleted:
        raise Gone(f"Zone {zone_id} was deleted.")
    if zones.pop(zone_id, None) is None:
        raise NotFound(f"No zone {zone_id}.")
    deleted.add(zone_id)
    return Response(status_code=204)


document_problems(api, CATALOG)
app = ProblemMiddleware(api, catalog=CATALOG)
