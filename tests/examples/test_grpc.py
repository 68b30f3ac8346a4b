"""examples/grpc: one catalog, two transports: the same typed problems and retries over HTTP and gRPC.

The HTTP app runs under uvicorn and the gRPC service on a real `grpc.server`, both on
127.0.0.1, and the example's client meets the same problems through either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from examples.grpc import grpc_server
from examples.grpc.client import GrpcZones, HttpZones
from examples.grpc.zones import CATALOG, ZoneExists, Zones
from problemdetails import ErrorItem, Problem
from problemdetails._cli import main
from tests.conftest import serve_with_uvicorn

Outcome = tuple[type[Problem], dict[str, Any], str | None]


def scenario(zones: GrpcZones | HttpZones, waits: list[float]) -> list[Outcome]:
    """What a client meets: a zone created, then each documented problem; a propagating zone waited for."""
    assert zones.create("example.org") == {"name": "example.org"}
    outcomes: list[Outcome] = []
    actions: list[Callable[[], Any]] = [
        lambda: zones.create("example.org"),
        lambda: zones.create("not a host name"),
        lambda: zones.get("example.net"),
    ]
    for action in actions:
        with pytest.raises(Problem) as raised:
            action()
        problem = raised.value
        members = {name: value for name, value in problem.members.items() if name != "created"}
        if isinstance(problem, ZoneExists):  # when it was created differs by server; its type does not
            assert isinstance(problem.members["created"], dt.datetime)
        outcomes.append((type(problem), members, problem.detail))
    assert zones.get("example.org")["name"] == "example.org"  # after one `zone-propagating` and its delay
    assert waits == [1.0]
    return outcomes


@pytest.fixture
def grpc_target() -> Iterator[str]:
    served, port = grpc_server.server(Zones(), "127.0.0.1:0")
    served.start()
    yield f"127.0.0.1:{port}"
    served.stop(None)


def test_both_transports_raise_the_same_typed_problems(grpc_target: str) -> None:
    over_http: list[Outcome] = []

    def check(base: str) -> None:
        waits: list[float] = []
        client = HttpZones(base, sleep=waits.append)
        over_http.extend(scenario(client, waits))
        client.close()

    serve_with_uvicorn("examples.grpc.http_app:app", check)
    waits: list[float] = []
    client = GrpcZones(grpc_target, sleep=waits.append)
    over_grpc = scenario(client, waits)
    client.close()
    assert over_grpc == over_http
    assert [(cls.code, members, detail) for cls, members, detail in over_grpc] == [
        ("zone-exists", {"zone": "example.org"}, "Zone example.org already exists"),
        (
            "invalid-zone",
            {"errors": [ErrorItem(detail="must be a host name", pointer="#/name", code="hostname")]},
            None,
        ),
        ("zone-not-found", {"zone": "example.net"}, "No zone example.net"),
    ]


def test_the_catalog_names_its_grpc_choices() -> None:
    assert main(["check", "examples/grpc/catalog.yaml"]) == 0
    assert (CATALOG.domain, CATALOG.grpc_code("zone-exists"), CATALOG.grpc_code("zone-propagating")) == (
        "zones.example",
        "ALREADY_EXISTS",
        "UNAVAILABLE",
    )
