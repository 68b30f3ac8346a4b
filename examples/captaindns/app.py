"""CaptainDNS, rebuilt on problemdetails: its envelope for today's clients, RFC 9457 for those who ask.

Run it: `uvicorn --app-dir examples/captaindns app:app`. Errors answer the
legacy `{code, message, details, request_id}` envelope (`EnvelopeProfile`),
except 400 validation errors, which keep their per-endpoint `{error, field}`
shape (`CaptainProfile` below: a profile is a small subclass). A client that
sends `Accept: application/problem+json` gets RFC 9457 with the same members.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from problemdetails import Catalog, EnvelopeProfile, Problem, ProblemMiddleware

CATALOG = Catalog.load(Path(__file__).with_name("catalog.yaml"))


class CaptainProfile(EnvelopeProfile):
    """The envelope, but validation errors keep CaptainDNS's `{"error", "field"}` body."""

    def render(self, problem: Problem) -> Any:
        if problem.code == "bad-request":
            return {"error": problem.detail, **problem.members}
        return super().render(problem)

    def read(self, status: int, document: Any, catalog: Catalog | None) -> dict[str, Any] | None:
        if status == 400 and isinstance(document, dict) and isinstance(document.get("error"), str):
            return {"code": "bad-request", "detail": document["error"], "field": document.get("field")}
        return super().read(status, document, catalog)


KEYS = {
    "cdns_live_expired": "expired-api-key",
    "cdns_live_revoked": "revoked-api-key",
}


async def resolve(request: Request) -> Response:
    """`POST /v1/resolve`: the key checks, then the endpoint's own validation."""
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer cdns_live_"):
        raise CATALOG["invalid-api-key"]("Missing or malformed API key")
    key = authorization.removeprefix("Bearer ")
    if key in KEYS:
        raise CATALOG[KEYS[key]]("API key expired" if "expired" in key else "API key revoked")
    if key == "cdns_live_dns_only":
        raise CATALOG["insufficient-scope"](required="web:read", granted=["dns:read", "mail:read"])
    if request.headers.get("x-forwarded-for") == "203.0.113.42":
        raise CATALOG["ip-not-allowed"](
            "Source IP not in the allowlist for this API key", detected_ip="203.0.113.42", allowlist=["4.175.114.0/23"]
        )
    domain = request.query_params.get("domain", "")
    if "." not in domain:
        raise CATALOG["bad-request"]("invalid domain: must be a valid FQDN", field="domain")
    return Response(b'{"answers": []}', media_type="application/json")


async def scan(request: Request) -> Response:
    example = CATALOG["quota-exceeded"].examples()[0]
    raise example


async def create_zone(request: Request) -> Response:
    raise CATALOG["idempotency-conflict"](
        "Idempotency key reused with a different request body", key=request.headers["idempotency-key"]
    )


async def burst(request: Request) -> Response:
    raise CATALOG["rate-limited"](
        "Rate limit exceeded", scope="per-key", retry_after_seconds=12, headers={"Retry-After": "12"}
    )


async def crash(request: Request) -> Response:
    raise KeyError("pepper")


async def login(request: Request) -> Response:
    raise CATALOG["service-unavailable"](
        "Public API is temporarily unavailable", reason="temporarily_unavailable", headers={"Retry-After": "60"}
    )


app = ProblemMiddleware(
    Starlette(
        routes=[
            Route("/v1/resolve", resolve, methods=["POST"]),
            Route("/v1/scan", scan, methods=["POST"]),
            Route("/v1/zones", create_zone, methods=["POST"]),
            Route("/v1/burst", burst),
            Route("/v1/crash", crash),
            Route("/v1/login", login, methods=["POST"]),
        ]
    ),
    catalog=CATALOG,
    profile=CaptainProfile(),
)
