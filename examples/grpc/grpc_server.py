"""The Zones service over gRPC: the same service, the same catalog, the same problems as `http_app.py`.

    python -m examples.grpc.grpc_server     # on 127.0.0.1:50051

`problemdetails.grpc.ProblemInterceptor` ends a call that raised a problem with its
gRPC code and a `google.rpc.Status` carrying its details, which
`problemdetails.client` reads back into the typed problem. The methods carry JSON
(generic handlers, no protoc): a service with `.proto` files adds its generated
servicer instead, and nothing else changes.
"""

from __future__ import annotations

import json
from concurrent import futures
from typing import Any

import grpc

from examples.grpc.zones import CATALOG, Zones

SERVICE = "zones.v1.Zones"


def encode(message: Any) -> bytes:
    return json.dumps(message).encode()


def handler(zones: Zones) -> grpc.GenericRpcHandler:
    """The service's methods: `CreateZone` and `GetZone`, each a JSON object in and out."""

    def create_zone(request: dict[str, Any], context: grpc.ServicerContext) -> dict[str, str]:
        return zones.create(request.get("name"))

    def get_zone(request: dict[str, Any], context: grpc.ServicerContext) -> dict[str, str]:
        return zones.get(str(request.get("name")))

    methods = {
        name: grpc.unary_unary_rpc_method_handler(method, request_deserializer=json.loads, response_serializer=encode)
        for name, method in (("CreateZone", create_zone), ("GetZone", get_zone))
    }
    return grpc.method_handlers_generic_handler(SERVICE, methods)


def server(zones: Zones, address: str = "127.0.0.1:50051") -> tuple[grpc.Server, int]:
    """The server, not started yet, and the port it is bound to."""
    from problemdetails.grpc import ProblemInterceptor

    served = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[ProblemInterceptor(CATALOG)])
    served.add_generic_rpc_handlers((handler(zones),))
    return served, served.add_insecure_port(address)


if __name__ == "__main__":
    running, port = server(Zones())
    running.start()
    print(f"Zones over gRPC on 127.0.0.1:{port}")
    running.wait_for_termination()
