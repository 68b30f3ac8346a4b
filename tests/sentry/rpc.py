"""Run in a child process (Sentry patches for good): the gRPC service, and the Sentry events each call produced.

`python -m tests.sentry.rpc sync|aio` serves `tests/grpc_service.py` behind the
interceptor, with Sentry initialised with its default integrations and the
in-memory transport of `tests/sentry/run.py`, and prints JSON: for each
outcome, the call's gRPC code and its events, each as its exception types,
its message (a record's template) and its `request_id` and `problem.code`
tags. Each call sends `x-request-id: id-<outcome>`.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import sentry_sdk

from tests.sentry.run import EVENTS, Memory, tags

OUTCOMES = ["ok", "conflict", "mapped", "crash", "unavailable"]


def main(flavor: str) -> None:
    logging.basicConfig(level=logging.INFO)  # a service logs: Sentry's logging integration sees the records
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Memory)
    from problemdetails.grpc import AsyncProblemInterceptor, ProblemInterceptor
    from tests.grpc_service import CATALOG, EXCEPTION_MAP, invoke, serve

    interceptor = (ProblemInterceptor if flavor == "sync" else AsyncProblemInterceptor)(
        CATALOG, exception_map=EXCEPTION_MAP
    )
    seen: dict[str, Any] = {}
    with serve(flavor, [interceptor]) as channel:
        for what in OUTCOMES:
            before = len(EVENTS)
            outcome = invoke(channel, "Get", what, [("x-request-id", f"id-{what}")])
            sentry_sdk.flush()
            seen[what] = {"code": outcome.code.name, "events": [summary(event) for event in EVENTS[before:]]}
    print(json.dumps(seen))


def summary(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "exception": [value["type"] for value in event.get("exception", {}).get("values", [])],
        "message": event.get("logentry", {}).get("message") or event.get("message") or "",
        "tags": tags(event),
    }


if __name__ == "__main__":
    main(sys.argv[1])
