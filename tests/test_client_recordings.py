"""What the client makes of real responses: the peers' (tests/recordings/record_peers.py), the example APIs'."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from problemdetails import Catalog, Problem
from problemdetails.client import decode
from tests.conftest import BUNDLED

RECORDINGS = json.loads((Path(__file__).parent / "recordings" / "peers.json").read_text())
CATALOG = Catalog.load(BUNDLED)

# peer, request -> (type after resolution against the URL, title, detail, extension members kept)
EXPECTED = {
    ("starlette-problem", "GET /zones"): (
        "http://testserver/conflict-problem",
        "Base http exception.",
        "Zone exists.",
        [],
    ),
    ("starlette-problem", "POST /zones"): (
        "http://testserver/conflict-problem",
        "Base http exception.",
        "Zone exists.",
        [],
    ),
    ("starlette-problem", "GET /nowhere"): ("http://testserver/http-not-found", "Not Found", "Not Found", []),
    ("fastapi-problem", "GET /zones"): (
        "http://testserver/conflict-problem",
        "Base http exception.",
        "Zone exists.",
        [],
    ),
    ("fastapi-problem", "POST /zones"): (
        "http://testserver/request-validation-failed",
        "Request validation error.",
        None,
        ["errors"],
    ),
    ("fastapi-problem", "GET /nowhere"): ("http://testserver/http-not-found", "Not Found", "Not Found", []),
    ("fastapi-problem-details", "GET /zones"): ("about:blank", "Conflict", "Zone exists.", []),
    ("fastapi-problem-details", "POST /zones"): (
        "about:blank",
        "Unprocessable Entity",
        "Request validation failed",
        ["errors"],
    ),
    ("fastapi-problem-details", "GET /nowhere"): ("about:blank", "Not Found", "Nothing matches the given URI", []),
    ("fastapi-rfc9457", "GET /zones"): ("http://testserver/rfc9457-conflict", "Conflict", "Zone exists.", []),
    ("fastapi-rfc9457", "POST /zones"): (
        "http://testserver/validation",
        "Unprocessable Content",
        "Request validation failed (1 error).",
        ["errors"],
    ),
    ("fastapi-rfc9457", "GET /nowhere"): ("about:blank", "Not Found", "Not Found", []),
}
CASES = [(peer, r) for peer, responses in sorted(RECORDINGS.items()) for r in responses]


@pytest.mark.parametrize(("peer", "recorded"), CASES, ids=[f"{p}:{r['request']}" for p, r in CASES])
def test_peer_responses(peer: str, recorded: dict[str, Any]) -> None:
    method, path = recorded["request"].split()
    problem = decode(
        recorded["status"],
        recorded["headers"],
        recorded["body"],
        catalog=CATALOG,
        url=f"http://testserver{path}",
        method=method,
    )
    assert type(problem) is Problem  # none of them sends a code this catalog knows
    assert problem.status == recorded["status"]
    kind, title, detail, extensions = EXPECTED[peer, recorded["request"]]
    assert (problem.type, problem.title, problem.detail, sorted(problem.extensions)) == (
        kind,
        title,
        detail,
        extensions,
    )


# The example APIs' own formats (examples/): legacy bodies still decode to something usable.
EXAMPLE_APIS = [
    pytest.param(  # dnswiz: native RFC 7807 with a slug `code`
        409,
        {"content-type": "application/problem+json", "x-request-id": "req-1"},
        '{"type":"https://errors.example.com/conflict","title":"Conflict","status":409,'
        '"detail":"record name+type already exists in zone","instance":"/v1/zones/abc/records",'
        '"code":"conflict","errors":{"field":"name"}}',
        # the dnswiz `errors` map is no member of the bundled conflict: kept, not dropped (RFC 9457 §3.2)
        ("conflict", "record name+type already exists in zone", {"errors": {"field": "name"}}),
        id="dnswiz",
    ),
    pytest.param(  # ScaiDNS: {"detail": "..."}
        403,
        {"content-type": "application/json"},
        '{"detail": "records:write permission required on this domain"}',
        (None, "records:write permission required on this domain", {}),
        id="scaidns-string",
    ),
    pytest.param(  # ScaiDNS: {"detail": {message, field, conflicts}}
        409,
        {"content-type": "application/json"},
        '{"detail": {"message": "Record conflicts with existing entries", "field": "content", "conflicts": ["a1"]}}',
        (
            None,
            None,
            {"detail": {"message": "Record conflicts with existing entries", "field": "content", "conflicts": ["a1"]}},
        ),
        id="scaidns-object",
    ),
    pytest.param(  # CaptainDNS: {code, message, details, request_id}
        403,
        {"content-type": "application/json"},
        '{"code": "IP_NOT_ALLOWED", "message": "Source IP not in the allowlist for this API key", '
        '"details": {"detected_ip": "203.0.113.42"}, "request_id": "req_a1b2c3d4"}',
        # an unknown code stays the code of a generic problem; the rest is kept as extensions
        (
            "IP_NOT_ALLOWED",
            None,
            {"message": "Source IP not in the allowlist for this API key", "details": {"detected_ip": "203.0.113.42"}},
        ),
        id="captaindns",
    ),
    pytest.param(  # ScaiDrive: a text error from a proxy
        502,
        {"content-type": "text/plain"},
        "upstream connect error",
        (None, "upstream connect error", {}),
        id="plain-text",
    ),
]


@pytest.mark.parametrize(("status", "headers", "body", "expected"), EXAMPLE_APIS)
def test_example_api_formats(status: int, headers: dict[str, str], body: str, expected: tuple[Any, ...]) -> None:
    problem = decode(status, headers, body, catalog=CATALOG)
    assert (problem.code, problem.detail, problem.extensions) == expected
    assert problem.status == status
