"""Two real services on 127.0.0.1 under uvicorn: the gateway (A) calls the users service (B) with httpx.

`examples/services/`: A traces with the real OpenTelemetry SDK and sends its
ids on (`propagation_hook`); both log JSON lines. B's 404 must reach A's
client as A's 502 with nothing of B's body, and the two services' records of
that one request must share its request id and trace id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, free_port, get_when_serving


class Service:
    def __init__(self, target: str, log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(self.port)]
        with log.open("wb") as sink:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=env)

    def wait(self) -> None:
        try:
            get_when_serving(f"{self.base}/users/1", self.process, seconds=60)
        except httpx.TransportError:
            raise RuntimeError(f"{self.base} did not start:\n{self.log.read_text()}") from None

    def records(self) -> list[dict[str, Any]]:
        """The JSON records logged so far (uvicorn's own lines are not JSON)."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    logs = tmp_path_factory.mktemp("services")
    users = Service("examples.services.users:app", logs / "users.log", dict(os.environ))
    gateway = Service("examples.services.gateway:app", logs / "gateway.log", {**os.environ, "USERS_URL": users.base})
    try:
        users.wait()
        gateway.wait()
        yield gateway, users
    finally:
        gateway.stop()
        users.stop()


def record_of(service: Service, request_id: str, logger: str = "problemdetails") -> dict[str, Any]:
    """The one record `service` logged for the request, waiting a bounded time for it to be written."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in service.records() if r["logger"] == logger and r.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            (record,) = found
            return record
        time.sleep(0.05)


def test_an_upstream_404_is_the_gateways_502_and_both_logs_share_the_ids(services: tuple[Service, Service]) -> None:
    gateway, users = services
    response = httpx.get(f"{gateway.base}/users/7", timeout=10)
    assert response.status_code == 502
    body = response.json()
    assert (body["code"], body["instance"]) == ("bad-gateway", "/users/7")
    for leaked in ("shard", "10.0.0.5", "not-found", "detail"):
        assert leaked not in response.text
    request_id, trace_id = response.headers["x-request-id"], body["trace_id"]
    assert body["request_id"] == request_id
    assert len(trace_id) == 32

    mine = record_of(gateway, request_id)
    assert (mine["problem_code"], mine["problem_status"], mine["trace_id"]) == ("bad-gateway", 502, trace_id)
    assert (mine["upstream_status"], mine["upstream_code"]) == (404, "not-found")
    # B was called with A's request id and A's trace: its record of the 404 says so.
    assert mine["upstream_request_id"] == request_id
    theirs = record_of(users, request_id)
    assert (theirs["problem_code"], theirs["problem_status"], theirs["trace_id"]) == ("not-found", 404, trace_id)
    # B's own log line (RequestContextFilter) carries the same ids.
    own = record_of(users, request_id, logger="users")
    assert (own["message"], own["trace_id"]) == ("looking up user 7", trace_id)


def test_a_relayed_422_keeps_its_errors_with_the_gateways_ids(services: tuple[Service, Service]) -> None:
    gateway, _ = services
    response = httpx.put(
        f"{gateway.base}/users/1/name", content=b"{}", headers={"X-Request-ID": "client-1"}, timeout=10
    )
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["errors"]) == ("unprocessable", [{"detail": "must not be empty", "pointer": "#/name"}])
    assert (body["instance"], body["request_id"]) == ("/users/1/name", "client-1")
    assert record_of(gateway, "client-1")["upstream_status"] == 422
