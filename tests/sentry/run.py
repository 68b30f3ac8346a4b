"""Run in a child process (Sentry patches frameworks for good): one app, requests, the events each produced.

`python -m tests.sentry.run <framework>` prints JSON: for each request path,
the list of Sentry events it produced, each as `[exception types..., message]`,
and each event's `request_id` and `problem.code` tags. Each request sends
`X-Request-ID: id-<path>`.
Sentry is initialised with its default integrations and a transport that keeps
envelopes in memory (no network).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

EVENTS: list[dict[str, Any]] = []
PATHS = ["/ok", "/conflict", "/mapped", "/crash", "/unavailable"]


class Memory(Transport):
    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event" and item.payload.json is not None:
                EVENTS.append(item.payload.json)


def summary(event: dict[str, Any]) -> list[str]:
    types = [value["type"] for value in event.get("exception", {}).get("values", [])]
    message = event.get("logentry", {}).get("message") or event.get("message") or ""
    return [*types, message]


def tags(event: dict[str, Any]) -> dict[str, str]:
    found = event.get("tags", {})
    pairs = found.items() if isinstance(found, dict) else found  # Sentry may send tags as pairs
    return {key: value for key, value in pairs if key in ("request_id", "problem.code")}


def request_id(path: str) -> dict[str, str]:
    return {"X-Request-ID": f"id-{path.strip('/')}"}


def main(framework: str) -> None:
    logging.basicConfig(level=logging.INFO)  # a service logs: Sentry's logging integration sees the records
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Memory)
    if framework in ("starlette", "fastapi"):
        from starlette.testclient import TestClient

        from examples.frameworks import fastapi_app, starlette_app

        module = starlette_app if framework == "starlette" else fastapi_app
        client = TestClient(module.app, raise_server_exceptions=False)

        def get(path: str) -> int:
            return client.get(path, headers=request_id(path)).status_code
    elif framework == "django":
        from examples.frameworks import django_app
        from tests.asgi import call

        def get(path: str) -> int:
            return call(django_app.asgi_app, path=path, headers=request_id(path)).status
    else:
        assert framework == "flask"
        from examples.frameworks import flask_app
        from tests.wsgi import serve

        def get(path: str) -> int:
            return serve(flask_app.app, path=path, headers=request_id(path)).code

    seen: dict[str, Any] = {}
    for path in PATHS:
        EVENTS.clear()
        status = get(path)
        sentry_sdk.flush()
        seen[path] = {
            "status": status,
            "events": [summary(event) for event in EVENTS],
            "tags": [tags(event) for event in EVENTS],
        }
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
