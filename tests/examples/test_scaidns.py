"""ScaiDNS: every documented shape and every message of the error-code reference."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from problemdetails import DetailProfile
from problemdetails.client import decode
from tests.conftest import ROOT
from tests.examples.test_dnswiz import load

scaidns = load(ROOT / "examples" / "scaidns" / "app.py", "scaidns_app")
client = TestClient(scaidns.app, raise_server_exceptions=False)
PROFILE = DetailProfile(objects=("field", "conflicts"))

# The error-code reference, verbatim: (message, status). `<...>` are the reference's placeholders.
REFERENCE = [
    ("Domain already exists", 409),
    ("Invalid domain name", 400),
    ("Unsupported domain type", 400),
    ("Domain not validated", 403),
    ("Domain is deleted", 404),
    ("Invalid record content", 400),
    ("Record type not supported", 400),
    ("Cannot create A record: CNAME exists at <name>", 409),
    ("DNAME cannot coexist with other records", 409),
    ("Record already exists", 409),
    ("Invalid TTL", 400),
    ("No DNS record found for <name>", 400),
    ("TXT record found but value doesn't match. Expected: <expected>", 400),
    ("Domain <name> does not exist in DNS", 400),
    ("No nameservers available for query", 400),
    ("DNS query timed out", 400),
    ("Challenge expired", 400),
    ("DNSSEC already enabled", 409),
    ("DNSSEC not enabled", 409),
    ("Unsupported algorithm", 400),
    ("DS record does not match any KSK", 400),
    ("KSK rotation in progress", 409),
    ("Platform admin access required", 403),
    ("Admin access required", 403),
    ("<permission> permission required on this domain", 403),
    ("IP not whitelisted", 403),
    ("Access grant not found or expired", 403),
    ("Missing X-API-Key header", 401),
    ("Invalid API key", 401),
    ("API key revoked", 401),
    ("API key expired", 401),
    ("Invalid JWT", 401),
    ("Token expired", 401),
    ("Missing X-ScaiKey-Signature header", 401),
    ("Invalid webhook signature", 401),
    ("Webhook timestamp too old", 401),
]
SAMPLES = {
    "name": "www.example.com",
    "expected": "scaidns-verify=abc",
    "permission": "records:write",
    "record_type": "A",
}


def fill(message: str) -> str:
    return re.sub(r"<(\w+)>", lambda match: SAMPLES[match.group(1)], message)


def entry_for(message: str) -> str:
    """The catalog entry whose template renders `message` (placeholders filled with SAMPLES)."""
    wanted = fill(message)
    for slug, spec in scaidns.CATALOG.problems.items():
        if spec.extends and spec.detail and spec.detail.format(**SAMPLES) == wanted:
            return str(slug)
    raise AssertionError(f"no catalog entry renders {wanted!r}")


@pytest.mark.parametrize(("message", "status"), REFERENCE, ids=[m for m, _ in REFERENCE])
def test_every_reference_message_is_a_catalog_entry(message: str, status: int) -> None:
    slug = entry_for(message)
    spec = scaidns.CATALOG.problems[slug]
    members = {member.name: SAMPLES[member.name] for member in spec.members if member.name in SAMPLES}
    response = client.post(f"/api/v1/reference/{slug}", json=members)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/json")
    wanted = fill(message)
    assert response.json() == {"detail": wanted}
    modern = client.post(f"/api/v1/reference/{slug}", json=members, headers={"Accept": "application/problem+json"})
    assert (modern.json()["code"], modern.json()["detail"]) == (slug, wanted)


def test_every_entry_is_in_the_reference_or_a_status_root() -> None:
    messages = {entry_for(message) for message, _ in REFERENCE}
    roots = {slug for slug, spec in scaidns.CATALOG.problems.items() if spec.extends is None}
    assert messages | roots == set(scaidns.CATALOG)
    assert sorted(spec.status for slug, spec in scaidns.CATALOG.problems.items() if slug in roots) == [
        400,
        401,
        403,
        404,
        409,
        413,
        422,
        429,
        500,
        502,
        503,
        504,
    ]


def test_the_documented_permission_failure() -> None:
    response = client.delete("/api/v1/domains/d1/records/r1")
    assert response.status_code == 403
    assert response.json() == {"detail": "records:write permission required on this domain"}


def test_the_documented_record_conflict_object() -> None:
    response = client.post(
        "/api/v1/domains/d1/records", json={"type": "A", "name": "www.example.com", "content": "192.0.2.1"}
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": {
            "message": "Cannot create A record: CNAME exists at www.example.com",
            "field": "type",
            "conflicts": ["record-uuid-of-the-cname"],
        }
    }
    problem = decode(response, catalog=scaidns.CATALOG, profile=PROFILE)
    assert (problem.code, problem.members["conflicts"]) == (
        "conflict",
        ["record-uuid-of-the-cname"],
    )  # no code in the shape


def test_the_documented_validation_array() -> None:
    response = client.post("/api/v1/domains/d1/records", json={"type": "A", "name": "x", "content": "not-an-ip"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body", "content"], "msg": "invalid IP address", "type": "value_error"}]
    }
    missing = client.post("/api/v1/domains/d1/records", json={"type": "A", "content": "192.0.2.1"})
    assert missing.json()["detail"][0]["loc"] == ["body", "name"]


def test_tenant_mismatch_is_404_not_403() -> None:
    response = client.get("/api/v1/domains/other-tenants-domain")
    assert (response.status_code, response.json()) == (404, {"detail": "Domain not found"})


def test_rate_limit_headers_on_healthy_and_limited_responses() -> None:
    healthy = client.get("/api/v1/domains")
    assert healthy.status_code == 200
    assert {name: healthy.headers[name] for name in scaidns.RATE_LIMIT} == scaidns.RATE_LIMIT
    limited = client.get("/api/v1/search")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    assert (limited.headers["x-ratelimit-limit"], limited.headers["x-ratelimit-remaining"]) == ("1000", "0")
    assert limited.headers["x-ratelimit-reset"] == "1714567890"
    assert limited.json() == {"detail": "Too many requests"}
    problem: Any = decode(limited, catalog=scaidns.CATALOG, profile=PROFILE)
    assert (problem.code, problem.retry_after) == ("rate-limited", 60.0)
