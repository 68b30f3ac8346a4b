"""ScaiDNS, rebuilt on problemdetails (FastAPI): `{"detail": ...}` strings, objects and arrays from one catalog.

Run it: `uvicorn --app-dir examples/scaidns app:app`. Every message of ScaiDNS's
error-code reference is a catalog entry with a `detail` template; legacy
clients get `{"detail": "..."}` (or `{"detail": {"message", "field",
"conflicts"}}` for conflicts, or FastAPI's validation array) through
`DetailProfile`, and clients that send `Accept: application/problem+json`
get RFC 9457 with the entry's `code`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

from problemdetails import Catalog, DetailProfile, ProblemMiddleware

CATALOG = Catalog.load(Path(__file__).with_name("catalog.yaml"))
RATE_LIMIT = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "42", "X-RateLimit-Reset": "1714567890"}
api = FastAPI()


class Record(BaseModel):
    type: str
    name: str
    content: str

    @field_validator("content")
    @classmethod
    def address(cls, content: str, info: Any) -> str:
        if info.data.get("type") in ("A", "AAAA"):
            try:
                ipaddress.ip_address(content)
            except ValueError:
                raise PydanticCustomError("value_error", "invalid IP address") from None
        return content


@api.get("/api/v1/domains")
async def list_domains(response: Response) -> list[str]:
    response.headers.update(RATE_LIMIT)  # healthy traffic gets the rate-limit headers too
    return ["example.com"]


@api.get("/api/v1/domains/{domain_id}")
async def get_domain(domain_id: str) -> dict[str, str]:
    # Another tenant's domain is a 404, never a 403: existence must not leak.
    raise CATALOG["not-found"]("Domain not found")


@api.post("/api/v1/domains/{domain_id}/records")
async def create_record(domain_id: str, record: Record) -> dict[str, str]:
    if record.type == "A" and record.name == "www.example.com":
        raise CATALOG["cname-exists"](
            record_type="A", name=record.name, field="type", conflicts=["record-uuid-of-the-cname"]
        )
    return {"id": "rec_1"}


@api.delete("/api/v1/domains/{domain_id}/records/{record_id}")
async def delete_record(domain_id: str, record_id: str) -> dict[str, str]:
    raise CATALOG["permission-required"](permission="records:write")


@api.get("/api/v1/search")
async def search() -> dict[str, str]:
    raise CATALOG["rate-limited"](headers={**RATE_LIMIT, "X-RateLimit-Remaining": "0", "Retry-After": "60"})


@api.post("/api/v1/reference/{slug}")
async def reference(slug: str, values: dict[str, str]) -> dict[str, str]:
    """Raises any catalogued message with the placeholder values given: one route per reference row."""
    values_: dict[str, Any] = dict(values)
    raise CATALOG[slug](**values_)


app = ProblemMiddleware(api, catalog=CATALOG, profile=DetailProfile(objects=("field", "conflicts")))
