"""One client of the Zones service over either transport: the same typed problems, the same retries.

    zones = GrpcZones("127.0.0.1:50051")          # or HttpZones("http://127.0.0.1:8000")
    try:
        zones.create("example.org")
    except ZoneExists as problem:
        print(problem.zone, problem.created)     # a datetime again, over either transport

Both raise the catalog's problem classes (gRPC through `ProblemClientInterceptor`,
HTTP through `raise_for_problem`), and retry as its `retry` advice says
(`RetryPolicy`): a propagating zone is asked again after its `Retry-After`
(HTTP) or `RetryInfo` (gRPC).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import httpx

from examples.grpc.grpc_server import SERVICE, encode
from examples.grpc.zones import CATALOG
from problemdetails import Problem
from problemdetails.client import ProblemClientInterceptor, RetryPolicy, raise_for_problem

T = TypeVar("T")


def with_retries(
    call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None], *, method: str | None = None
) -> T:
    """`call()`, again after each problem the policy says to retry; the last problem is raised."""
    attempt = 0
    while True:
        try:
            return call()
        except Problem as problem:
            attempt += 1
            delay = policy.delay(problem, attempt, method=method)
            if delay is None:
                raise
            sleep(delay)


class GrpcZones:
    def __init__(self, target: str, *, policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep):
        self.channel = grpc.intercept_channel(grpc.insecure_channel(target), ProblemClientInterceptor(CATALOG))
        self.policy, self.sleep = policy or RetryPolicy(), sleep

    def _call(self, method: str, request: dict[str, Any]) -> Any:
        stub = self.channel.unary_unary(
            f"/{SERVICE}/{method}", request_serializer=encode, response_deserializer=json.loads
        )
        return stub(request, timeout=10)

    def create(self, name: str) -> dict[str, str]:
        # CreateZone is not idempotent: told so, the policy does not send it twice.
        return with_retries(lambda: self._call("CreateZone", {"name": name}), self.policy, self.sleep, method="POST")

    def get(self, name: str) -> dict[str, str]:
        return with_retries(lambda: self._call("GetZone", {"name": name}), self.policy, self.sleep)

    def close(self) -> None:
        self.channel.close()


class HttpZones:
    def __init__(
        self, base_url: str, *, policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.policy, self.sleep = policy or RetryPolicy(), sleep

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        def call() -> httpx.Response:
            return raise_for_problem(self.http.request(method, path, json=body), catalog=CATALOG)  # type: ignore[no-any-return]

        # The policy reads the method off the response: a POST is not sent twice.
        return with_retries(call, self.policy, self.sleep).json()

    def create(self, name: str) -> dict[str, str]:
        created: dict[str, str] = self._send("POST", "/v1/zones", {"name": name})
        return created

    def get(self, name: str) -> dict[str, str]:
        zone: dict[str, str] = self._send("GET", f"/v1/zones/{name}")
        return zone

    def close(self) -> None:
        self.http.close()
