"""Sentry with its default integrations and no extra line: answers are no events, each crash is one.

The real `sentry-sdk`, with a transport that keeps envelopes in memory, runs
in a child process per framework (`tests/sentry/run.py`): Sentry patches the
frameworks for the rest of the process it is initialised in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "django", "flask"])
def test_answers_are_no_events_and_each_crash_is_one(framework: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.sentry.run", framework], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["/ok"] == {"status": 200, "events": [], "tags": []}
    # A raised 4xx problem and an exception mapped to one are answers, not errors.
    assert seen["/conflict"] == {"status": 409, "events": [], "tags": []}
    assert seen["/mapped"] == {"status": 409, "events": [], "tags": []}
    # A crash is one event, carrying the original exception (not the 500 page, not a log line besides),
    # tagged with the problem code it was answered with and the request id.
    assert seen["/crash"]["status"] == 500
    assert seen["/crash"]["events"][0][0] == "RuntimeError"
    assert len(seen["/crash"]["events"]) == 1
    assert seen["/crash"]["tags"] == [{"request_id": "id-crash", "problem.code": "internal"}]
    # A 5xx problem raised on purpose is one event too: its ERROR log line, without a traceback,
    # its message the template, so that Sentry groups them as one issue.
    assert seen["/unavailable"] == {
        "status": 503,
        "events": [["%s %s: %s request_id=%s"]],
        "tags": [{"request_id": "id-unavailable", "problem.code": "unavailable"}],
    }
