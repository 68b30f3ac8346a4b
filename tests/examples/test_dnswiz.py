"""dnswiz: every error case its docs describe, produced by examples/dnswiz."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest
from starlette.testclient import TestClient

from problemdetails import Catalog
from problemdetails._site import render_site
from tests.conftest import ROOT

APP = ROOT / "examples" / "dnswiz" / "app.py"


def load(path: Any, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and Litestar resolve annotations through it
    spec.loader.exec_module(module)
    return module


dnswiz = load(APP, "dnswiz_app")
client = TestClient(dnswiz.app, raise_server_exceptions=False)

# The example body on dnswiz's "Error codes" page, verbatim.
DOCUMENTED_CONFLICT = {
    "type": "https://dnswiz.io/errors/conflict",
    "title": "Conflict",
    "status": 409,
    "detail": "record name+type already exists in zone",
    "instance": "/v1/zones/abc.../records",
    "code": "conflict",
    "errors": {"field": "name"},
}


def test_the_documented_example_is_produced_exactly() -> None:
    response = client.post("/v1/zones/abc.../records", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    # `request_id` is the one member dnswiz's page does not show; it repeats X-Request-ID.
    assert body.pop("request_id") == response.headers["x-request-id"] == "req-1"
    assert body == DOCUMENTED_CONFLICT


CASES = [
    # (method, path, request headers, status, slug, detail, members, response headers)
    (
        "GET",
        "/v1/zones?limit=ten",
        {},
        400,
        "bad-request",
        "limit must be an integer",
        {"errors": {"field": "limit"}},
        {},
    ),
    ("GET", "/v1/me", {}, 401, "unauthorized", "bearer token missing", {}, {"www-authenticate": "Bearer"}),
    ("GET", "/v1/me", {"Authorization": "Bearer x"}, 401, "unauthorized", "bearer token expired", {}, {}),
    ("POST", "/v1/zones", {}, 402, "quota-exceeded", "max zones for plan reached", {}, {}),
    ("DELETE", "/v1/workspace", {}, 403, "forbidden", "only owners can delete the workspace", {}, {}),
    (
        "GET",
        "/v1/keyed",
        {"X-Forwarded-For": "203.0.113.42"},
        403,
        "forbidden",
        "source IP not in the API key's allow-list",
        {"errors": {"code": "ip-not-allowed"}},
        {},
    ),
    ("GET", "/v1/zones/abc", {}, 404, "not-found", "zone not found", {}, {}),
    (
        "POST",
        "/v1/zones/abc/records",
        {},
        409,
        "conflict",
        DOCUMENTED_CONFLICT["detail"],
        {"errors": {"field": "name"}},
        {},
    ),
    ("DELETE", "/v1/zones/stale", {}, 410, "gone", "zone was deleted", {}, {}),
    (
        "POST",
        "/v1/zones/abc/records/srv",
        {},
        422,
        "unprocessable",
        "SRV record requires a port",
        {"errors": {"field": "port"}},
        {},
    ),
    (
        "POST",
        "/v1/auth/send",
        {},
        429,
        "rate-limited",
        "too many sign-in attempts",
        {"retry_after": 30},
        {"retry-after": "30"},
    ),
    ("GET", "/v1/crash", {}, 500, "internal", None, {}, {}),
    ("POST", "/v1/certificates", {}, 502, "bad-gateway", "certificate authority returned an error", {}, {}),
    ("POST", "/v1/email/test", {}, 503, "unavailable", "outbound email is not configured on this instance", {}, {}),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "slug", "detail", "members", "response_headers"),
    CASES,
    ids=[f"{case[4]}-{case[1]}" for case in CASES],
)
def test_each_documented_error_case(
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    slug: str,
    detail: str | None,
    members: dict[str, Any],
    response_headers: dict[str, str],
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    expected = {
        "type": f"https://dnswiz.io/errors/{slug}",
        "title": dnswiz.CATALOG.problems[slug].title,
        "status": status,
        **({"detail": detail} if detail is not None else {}),
        "instance": path.split("?")[0],
        "code": slug,
        "request_id": response.headers["x-request-id"],
        **members,
    }
    assert body == expected
    # `code` is the last path segment of `type`, as the page promises.
    assert body["type"].rsplit("/", 1)[1] == body["code"]
    for name, value in response_headers.items():
        assert response.headers[name] == value
    assert "secret" not in response.text


def test_catalog_covers_the_twelve_documented_slugs() -> None:
    assert sorted(dnswiz.CATALOG) == sorted(
        [
            "bad-request",
            "unauthorized",
            "quota-exceeded",
            "forbidden",
            "not-found",
            "conflict",
            "gone",
            "unprocessable",
            "rate-limited",
            "internal",
            "bad-gateway",
            "unavailable",
        ]
    )
    assert {case[4] for case in CASES} == set(dnswiz.CATALOG)


def test_type_uris_resolve_to_the_notes() -> None:
    site = render_site(Catalog.load(ROOT / "examples" / "dnswiz" / "catalog.yaml"))
    page = site["forbidden/index.html"].decode()
    assert "<code>ip-not-allowed</code>" in page
    assert '<li id="conflict"' in site["index.html"].decode()  # dnswiz links errors#<slug> too
    served = client.get("/errors/forbidden/")
    assert (served.status_code, served.content) == (200, site["forbidden/index.html"])
