"""CaptainDNS: its envelope, every documented code, and RFC 9457 for clients that ask."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from problemdetails._cli import main
from problemdetails.client import decode
from tests.conftest import ROOT
from tests.examples.test_dnswiz import load

captain = load(ROOT / "examples" / "captaindns" / "app.py", "captaindns_app")
client = TestClient(captain.app, raise_server_exceptions=False)
KEY = {"Authorization": "Bearer cdns_live_good"}

# (request, status, the documented envelope without request_id, response headers)
CASES: list[tuple[tuple[str, str, dict[str, str]], int, dict[str, Any], dict[str, str]]] = [
    (
        ("POST", "/v1/resolve?domain=nodots", KEY),
        400,
        {"error": "invalid domain: must be a valid FQDN", "field": "domain"},  # not the envelope, as documented
        {},
    ),
    (("POST", "/v1/resolve", {}), 401, {"code": "INVALID_API_KEY", "message": "Missing or malformed API key"}, {}),
    (
        ("POST", "/v1/resolve", {"Authorization": "Bearer cdns_live_expired"}),
        401,
        {"code": "EXPIRED_API_KEY", "message": "API key expired"},
        {"www-authenticate": "Bearer"},
    ),
    (
        ("POST", "/v1/resolve", {"Authorization": "Bearer cdns_live_revoked"}),
        401,
        {"code": "REVOKED_API_KEY", "message": "API key revoked"},
        {},
    ),
    (
        ("POST", "/v1/resolve", {"Authorization": "Bearer cdns_live_dns_only"}),
        403,
        {
            "code": "INSUFFICIENT_SCOPE",
            "message": "Endpoint requires scope 'web:read'",
            "details": {"required": "web:read", "granted": ["dns:read", "mail:read"]},
        },
        {},
    ),
    (
        ("POST", "/v1/resolve", {**KEY, "X-Forwarded-For": "203.0.113.42"}),
        403,
        {
            "code": "IP_NOT_ALLOWED",
            "message": "Source IP not in the allowlist for this API key",
            "details": {"detected_ip": "203.0.113.42", "allowlist": ["4.175.114.0/23"]},
        },
        {},
    ),
    (
        ("POST", "/v1/scan", KEY),
        403,
        {
            "code": "QUOTA_EXCEEDED",
            "message": "Monthly credits quota reached",
            "details": {
                "tier": "free",
                "limit": 500,
                "current": 500,
                "period_start": "2026-04-01T00:00:00Z",
                "period_end": "2026-05-01T00:00:00Z",
            },
        },
        {},
    ),
    (
        ("POST", "/v1/zones", {"Idempotency-Key": "550e8400-e29b-41d4-a716-446655440000"}),
        409,
        {
            "code": "IDEMPOTENCY_CONFLICT",
            "message": "Idempotency key reused with a different request body",
            "details": {"key": "550e8400-e29b-41d4-a716-446655440000"},
        },
        {},
    ),
    (
        ("GET", "/v1/burst", KEY),
        429,
        {
            "code": "RATE_LIMITED",
            "message": "Rate limit exceeded",
            "details": {"scope": "per-key", "retry_after_seconds": 12},
        },
        {"retry-after": "12"},
    ),
    (("GET", "/v1/crash", KEY), 500, {"code": "INTERNAL_ERROR", "message": "Internal error"}, {}),
    (
        ("POST", "/v1/login", {}),
        503,
        {
            "code": "SERVICE_UNAVAILABLE",
            "message": "Public API is temporarily unavailable",
            "details": {"reason": "temporarily_unavailable"},
        },
        {"retry-after": "60"},
    ),
]
Case = tuple[tuple[str, str, dict[str, str]], int, dict[str, Any], dict[str, str]]


@pytest.fixture(params=CASES, ids=[str(case[2].get("code", "BAD_REQUEST")) for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def send(case: Case, accept: str = "*/*") -> Any:
    (method, path, headers), *_ = case
    return client.request(method, path, headers={**headers, "Accept": accept})


def slug(case: Case) -> str:
    return str(case[2].get("code", "BAD_REQUEST")).lower().replace("_", "-")


def test_each_documented_code_answers_its_envelope(case: Case) -> None:
    _, status, documented, headers = case
    response = send(case)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/json")
    body = response.json()
    if "code" in documented:
        # request_id: "CaptainDNS request identifier", the X-Request-ID the response carries.
        assert body.pop("request_id") == response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert body == documented
    for name, value in headers.items():
        assert response.headers[name] == value
    assert "pepper" not in response.text


def test_problem_json_clients_get_rfc9457_with_the_same_members(case: Case) -> None:
    _, status, documented, _ = case
    response = send(case, accept="application/problem+json")
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    body = response.json()
    assert body["code"] == slug(case)
    assert body["type"] == f"https://captaindns.example/docs/errors/{body['code']}"
    details = documented.get("details", {"field": documented.get("field")} if "field" in documented else {})
    assert {name: body[name] for name in details} == details


def test_the_client_reads_the_envelope_into_typed_problems(case: Case) -> None:
    response = send(case)
    problem = decode(response, catalog=captain.CATALOG, profile=captain.CaptainProfile())
    assert type(problem) is captain.CATALOG[slug(case)]
    assert problem.request_id == response.headers["x-request-id"]


def test_two_kinds_of_403_are_told_apart_by_code() -> None:
    scope = client.post("/v1/resolve", headers={"Authorization": "Bearer cdns_live_dns_only"})
    address = client.post("/v1/resolve", headers={**KEY, "X-Forwarded-For": "203.0.113.42"})
    quota = client.post("/v1/scan", headers=KEY)
    assert {scope.status_code, address.status_code, quota.status_code} == {403}
    assert [r.json()["code"] for r in (scope, address, quota)] == [
        "INSUFFICIENT_SCOPE",
        "IP_NOT_ALLOWED",
        "QUOTA_EXCEEDED",
    ]
    assert client.post("/v1/resolve?domain=example.com", headers=KEY).status_code == 200


def test_catalog_covers_the_ten_codes_and_validation() -> None:
    assert len(captain.CATALOG) == 11
    assert {slug(case) for case in CASES} == set(captain.CATALOG)


def test_its_doc_site_builds_with_a_page_per_code(tmp_path: Path) -> None:
    catalog_file = ROOT / "examples" / "captaindns" / "catalog.yaml"
    assert main(["build", str(catalog_file), "--out", str(tmp_path / "site")]) == 0
    for slug_name in captain.CATALOG:
        page = (tmp_path / "site" / slug_name / "index.html").read_text()
        assert f"<code>https://captaindns.example/docs/errors/{slug_name}</code>" in page
    assert "per-key" in (tmp_path / "site" / "rate-limited" / "schema.json").read_text()  # the scope enum
