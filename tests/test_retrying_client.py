"""examples/retrying_client: retries driven by the catalog, against a scripted server (no network)."""

from __future__ import annotations

import httpx
import pytest

from examples.retrying_client.client import send_with_retries
from problemdetails import Catalog, encode_json
from tests.conftest import BUNDLED

CATALOG = Catalog.load(BUNDLED)


def scripted(*answers: tuple[int, bytes, dict[str, str]]) -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        status, body, headers = queue.pop(0)
        return httpx.Response(status, content=body, headers={"content-type": "application/problem+json", **headers})

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="https://api.example.com"), seen


def problem(slug: str) -> bytes:
    return encode_json(CATALOG[slug]())


def test_retry_after_then_success() -> None:
    http, seen = scripted((429, problem("rate-limited"), {"Retry-After": "2"}), (200, b"{}", {}))
    waits: list[float] = []
    response = send_with_retries(http, http.build_request("GET", "/v1/zones"), catalog=CATALOG, sleep=waits.append)
    assert (response.status_code, seen, waits) == (200, ["GET", "GET"], [2.0])


def test_client_errors_are_not_retried() -> None:
    http, seen = scripted((409, problem("conflict"), {}))
    with pytest.raises(CATALOG["conflict"]):
        send_with_retries(http, http.build_request("GET", "/v1/zones"), catalog=CATALOG, sleep=lambda _: None)
    assert seen == ["GET"]


def test_backoff_gives_up_after_the_attempts_and_posts_are_not_retried() -> None:
    failures: list[tuple[int, bytes, dict[str, str]]] = [(502, problem("bad-gateway"), {})] * 4
    http, seen = scripted(*failures)
    waits: list[float] = []
    with pytest.raises(CATALOG["bad-gateway"]):
        send_with_retries(http, http.build_request("GET", "/v1/zones"), catalog=CATALOG, sleep=waits.append)
    assert len(seen) == 4
    assert all(0 <= wait <= 0.5 * 2**n for n, wait in enumerate(waits))
    http, seen = scripted((502, problem("bad-gateway"), {}))
    with pytest.raises(CATALOG["bad-gateway"]):
        send_with_retries(http, http.build_request("POST", "/v1/zones"), catalog=CATALOG, sleep=lambda _: None)
    assert seen == ["POST"]
