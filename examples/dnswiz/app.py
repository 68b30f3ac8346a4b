"""dnswiz, rebuilt on problemdetails: one route per error its docs describe.

Run it: `uvicorn --app-dir examples/dnswiz app:app`. Every error is dnswiz's
native RFC 7807 body (`type` = https://dnswiz.io/errors/<slug>, `code`, the
`errors` map, `instance`) with `X-Request-ID`; `catalog.yaml` is the
transcribed catalog and `tests/examples/test_dnswiz.py` checks each case.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from problemdetails import Catalog, ProblemMiddleware

CATALOG = Catalog.load(Path(__file__).with_name("catalog.yaml"))
BadRequest = CATALOG["bad-request"]
Unauthorized = CATALOG["unauthorized"]
QuotaExceeded = CATALOG["quota-exceeded"]
Forbidden = CATALOG["forbidden"]
NotFound = CATALOG["not-found"]
Conflict = CATALOG["conflict"]
Gone = CATALOG["gone"]
Unprocessable = CATALOG["unprocessable"]
RateLimited = CATALOG["rate-limited"]
BadGateway = CATALOG["bad-gateway"]
Unavailable = CATALOG["unavailable"]

ALLOWED_NETWORK = "10."  # the API key's CIDR allow-list, simplified


async def list_zones(request: Request) -> Response:
    if not request.query_params.get("limit", "10").isdigit():
        raise BadRequest("limit must be an integer", errors={"field": "limit"})
    return Response(b"[]", media_type="application/json")


async def me(request: Request) -> Response:
    if not request.headers.get("authorization", "").startswith("Bearer "):
        raise Unauthorized("bearer token missing")
    raise Unauthorized("bearer token expired")


async def create_zone(request: Request) -> Response:
    raise QuotaExceeded("max zones for plan reached")


async def delete_workspace(request: Request) -> Response:
    raise Forbidden("only owners can delete the workspace")


async def keyed_request(request: Request) -> Response:
    if not request.headers.get("x-forwarded-for", "").startswith(ALLOWED_NETWORK):
        raise Forbidden("source IP not in the API key's allow-list", errors={"code": "ip-not-allowed"})
    return Response(b"{}", media_type="application/json")


async def get_zone(request: Request) -> Response:
    raise NotFound("zone not found")


async def create_record(request: Request) -> Response:
    raise Conflict("record name+type already exists in zone", errors={"field": "name"})


async def delete_zone(request: Request) -> Response:
    raise Gone("zone was deleted")


async def create_srv(request: Request) -> Response:
    raise Unprocessable("SRV record requires a port", errors={"field": "port"})


async def auth_send(request: Request) -> Response:
    raise RateLimited("too many sign-in attempts", retry_after=30)


async def crash(request: Request) -> Response:
    raise RuntimeError("database connection string postgres://admin:secret@db is wrong")


async def issue_certificate(request: Request) -> Response:
    raise BadGateway("certificate authority returned an error")


async def test_email(request: Request) -> Response:
    raise Unavailable("outbound email is not configured on this instance")


app = ProblemMiddleware(
    Starlette(
        routes=[
            Route("/v1/zones", list_zones, methods=["GET"]),
            Route("/v1/zones", create_zone, methods=["POST"]),
            Route("/v1/me", me),
            Route("/v1/workspace", delete_workspace, methods=["DELETE"]),
            Route("/v1/keyed", keyed_request),
            Route("/v1/zones/{zone}", get_zone, methods=["GET"]),
            Route("/v1/zones/{zone}", delete_zone, methods=["DELETE"]),
            Route("/v1/zones/{zone}/records", create_record, methods=["POST"]),
            Route("/v1/zones/{zone}/records/srv", create_srv, methods=["POST"]),
            Route("/v1/auth/send", auth_send, methods=["POST"]),
            Route("/v1/crash", crash),
            Route("/v1/certificates", issue_certificate, methods=["POST"]),
            Route("/v1/email/test", test_email, methods=["POST"]),
        ]
    ),
    catalog=CATALOG,
    docs_path="/errors/",
)
