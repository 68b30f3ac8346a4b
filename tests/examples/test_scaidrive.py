"""ScaiDrive: `{"detail"}` for today's clients, codes and request ids for those who ask."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from problemdetails._site import render_site
from tests.conftest import ROOT, free_port, get_when_serving
from tests.examples.test_dnswiz import load

FOLDER = ROOT / "examples" / "scaidrive"
drive = load(FOLDER / "app.py", "scaidrive_app")
downloads = load(FOLDER / "client.py", "scaidrive_client")
client = TestClient(drive.app, raise_server_exceptions=False)
PROBLEM_JSON = {"Accept": "application/problem+json"}

# The page's validation example, verbatim.
DOCUMENTED_422 = {
    "detail": [
        {"loc": ["body", "role"], "msg": "Input should be 'owner', 'admin', 'contributor' or 'reader'", "type": "enum"},
        {
            "loc": ["body", "expires_in_days"],
            "msg": "Input should be less than or equal to 365",
            "type": "less_than_equal",
        },
    ]
}

# (method, path, request headers, status, slug, detail) for each row of the page's status table.
CASES = [
    ("GET", "/files/oops", {}, 400, "bad-request", "Malformed file id"),
    ("GET", "/me", {}, 401, "unauthorized", "Not authenticated"),
    ("PUT", "/files/fil_01J3M", {}, 403, "forbidden", "Permission denied: WRITE on file/fil_01J3M"),
    ("GET", "/files/fil_404", {}, 404, "not-found", "File not found"),
    ("POST", "/files/fil_1/rename", {}, 409, "conflict", "A file with this name already exists in the folder"),
    ("GET", "/invitations/inv_1", {}, 410, "gone", "Invitation expired"),
    ("POST", "/uploads", {"Content-Length": "9999999"}, 413, "payload-too-large", None),
    ("GET", "/search", {}, 429, "rate-limited", "Rate limit exceeded"),
    ("GET", "/crash", {}, 500, "internal", None),
    ("GET", "/connectors/sharepoint", {}, 502, "bad-gateway", "SharePoint connector source unreachable"),
    ("GET", "/ready", {}, 503, "unavailable", "Search index drained"),
    ("GET", "/slow", {}, 504, "gateway-timeout", "Weaviate timed out"),
    ("POST", "/uploads", {}, 507, "insufficient-storage", "Tenant storage quota would be exceeded"),
]


def send(method: str, path: str, headers: dict[str, str], accept: dict[str, str] | None = None) -> Any:
    content = b"x" * 16 if method == "POST" and path == "/uploads" else None
    return client.request(method, path, headers={**headers, **(accept or {})}, content=content)


def test_the_documented_regular_error_is_produced_exactly() -> None:
    response = client.put("/files/fil_01J3M")
    assert (response.status_code, response.headers["content-type"]) == (403, "application/json")
    assert response.json() == {"detail": "Permission denied: WRITE on file/fil_01J3M"}
    assert response.headers["x-request-id"]  # known gap 2, closed: every response carries an id


def test_the_documented_validation_array_is_produced_exactly() -> None:
    response = client.post("/shares", json={"role": "superuser", "expires_in_days": 400})
    assert response.status_code == 422
    assert response.json() == DOCUMENTED_422


@pytest.mark.parametrize(("method", "path", "headers", "status", "slug", "detail"), CASES, ids=[c[4] for c in CASES])
def test_each_status_keeps_the_detail_string_for_legacy_clients(
    method: str, path: str, headers: dict[str, str], status: int, slug: str, detail: str | None
) -> None:
    response = send(method, path, headers)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/json")
    expected = detail if detail is not None else drive.CATALOG.problems[slug].title
    if slug == "payload-too-large":
        expected = "File exceeds the tenant's 5 MiB per-file cap"
    assert response.json() == {"detail": expected}
    assert "credentials" not in response.text


@pytest.mark.parametrize(("method", "path", "headers", "status", "slug", "detail"), CASES, ids=[c[4] for c in CASES])
def test_problem_json_closes_the_known_gaps(
    method: str, path: str, headers: dict[str, str], status: int, slug: str, detail: str | None
) -> None:
    response = send(method, path, headers, PROBLEM_JSON)
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    body = response.json()
    assert body["code"] == slug  # gap 1: a machine-readable code
    assert body["request_id"] == response.headers["x-request-id"]  # gap 2: request id propagation
    assert body["type"] == f"https://scaidrive.example/docs/errors/{slug}"


def test_retry_strategy_table_is_generated_from_the_catalog() -> None:
    # The page's table: Yes/Once mean retry (with backoff or after Retry-After), No/Maybe mean fix first.
    documented = {401: "No", 403: "No", 404: "No", 409: "Maybe", 410: "No", 413: "No", 422: "No", 429: "Yes"}
    documented |= {500: "Once", 502: "Yes", 503: "Yes", 504: "Yes", 507: "No"}
    by_status = {spec.status: slug for slug, spec in drive.CATALOG.problems.items()}
    for status, answer in documented.items():
        problem_class = drive.CATALOG[by_status[status]]
        assert problem_class.spec.retry in (
            ("backoff", "after-delay") if answer in ("Yes", "Once") else ("never", "after-change")
        )
    table = render_site(drive.CATALOG)["retry.html"].decode()
    row = '<tr><td>429</td><td><a href="rate-limited/">Rate limited</a> <code>rate-limited</code></td>'
    assert row + "<td>Retry after the delay</td>" in table
    assert '<tr><td>507</td><td><a href="insufficient-storage/">' in table


@pytest.mark.parametrize(
    ("token", "code", "slug"),
    [("bad", 4401, "unauthorized"), ("suspended", 4403, "forbidden"), ("too-many", 4429, "rate-limited")],
)
def test_websocket_errors_close_with_the_documented_codes(token: str, code: int, slug: str) -> None:
    with client.websocket_connect("/ws/events") as websocket:
        websocket.send_text(token)
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()
    assert (closed.value.code, closed.value.reason) == (code, slug)
    with client.websocket_connect("/ws/events") as websocket:
        websocket.send_text("valid")
        assert websocket.receive_json() == {"event": "subscribed"}


@pytest.fixture(scope="module")
def served() -> Any:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(FOLDER),
        "app:app",
        "--port",
        str(port),
        "--log-level",
        "critical",
    ]
    with subprocess.Popen([*command, "--host", "127.0.0.1"]) as server:
        base = f"http://127.0.0.1:{port}"
        get_when_serving(f"{base}/ready", server)
        yield base
        server.terminate()
        server.wait(timeout=10)


def test_a_stream_cut_after_its_headers_is_detected_by_the_client(served: str) -> None:
    with httpx.Client(timeout=5) as http:
        assert downloads.download(http, f"{served}/download/fil_ok") == drive.FILE
        with pytest.raises(downloads.TruncatedDownload, match=f"of {len(drive.FILE)} bytes"):
            downloads.download(http, f"{served}/download/fil_broken")
        with pytest.raises(drive.CATALOG["not-found"], match="File not found"):  # an error before the stream
            downloads.download(http, f"{served}/files/fil_404", catalog=drive.CATALOG)
