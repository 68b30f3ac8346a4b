"""Sentry with its default integrations and no extra line: answers are no events, each crash is one.

The real `sentry-sdk`, with a transport that keeps envelopes in memory, runs
in a child process per framework (`tests/sentry/run.py`): Sentry patches the
frameworks for the rest of the process it is initialised in.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ["starlette", "fastapi", "django", "flask", "aiohttp", "tornado", "sanic", "ninja", "pyramid", "connexion"]


@functools.cache
def events_of(framework: str, *event_level: str) -> dict[str, Any]:
    """What each request path of `tests/sentry/run.py` produced under `framework` (one child process each).

    `event_level` (`ERROR`, `none`) adds `LoggingIntegration(event_level=...)` to the default integrations.
    """
    run = subprocess.run(
        [sys.executable, "-m", "tests.sentry.run", framework, *event_level],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_answers_are_no_events_and_each_crash_is_one(framework: str) -> None:
    seen = events_of(framework)
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


# The one event of each 5xx answer, as `[exception types..., message]`: its ERROR log record, whatever
# raised it and on every framework, its message the template so that Sentry groups them as one issue;
# with the exception (and its traceback) of an exception mapped to the problem, and without one else.
ANSWERED = "%s %s: %s request_id=%s"
NOTED = "%s %s: %s request_id=%s (%s)"  # with a note: what it was mapped from, or that a page was replaced
FIVE_XX_EVENTS = {
    "/unavailable": [ANSWERED],  # a 5xx problem raised on purpose
    "/http-unavailable": [ANSWERED],  # the framework's own 503 (Starlette's Sentry integration reports it too)
    "/rendered-unavailable": [NOTED],  # a 503 page the app rendered
    "/mapped-unavailable": ["Maintenance", NOTED],  # an exception mapped to a 5xx slug
    "/mapped-status": ["Overloaded", NOTED],  # ... carrying a `status_code` an integration reads
}


@pytest.mark.parametrize("path", list(FIVE_XX_EVENTS))
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_5xx_answer_is_one_event(framework: str, path: str) -> None:
    assert events_of(framework)[path] == {
        "status": 503,
        "events": [FIVE_XX_EVENTS[path]],
        "tags": [{"request_id": f"id-{path.strip('/')}", "problem.code": "unavailable"}],
    }


# Whether Sentry's logging integration makes events of ERROR records is the SDK's choice: it does by default
# in sentry-sdk 2 and when told to (`event_level`), not in sentry-sdk 3 (nor with `event_level=None`).
# Either way a 5xx answer is one event, the same one.
@pytest.mark.parametrize("event_level", ["ERROR", "none"])
@pytest.mark.parametrize("framework", ["starlette", "flask"])
def test_each_5xx_answer_is_one_event_whether_log_records_are_events(framework: str, event_level: str) -> None:
    seen = events_of(framework, event_level)
    for path, events in FIVE_XX_EVENTS.items():
        assert seen[path] == {
            "status": 503,
            "events": [events],
            "tags": [{"request_id": f"id-{path.strip('/')}", "problem.code": "unavailable"}],
        }, path
    # The others are as with the default integrations.
    assert seen["/conflict"] == {"status": 409, "events": [], "tags": []}
    assert [event[0] for event in seen["/crash"]["events"]] == ["RuntimeError"]
    assert seen["/crash"]["tags"] == [{"request_id": "id-crash", "problem.code": "internal"}]


# The README's switch: Sentry's "ignore this logger for events" (`ignore_logger_for_events` in sentry-sdk 3,
# `ignore_logger` in 2, where the first does not exist), then the app as in `tests/sentry/run.py`.
IGNORED = """
import sys
from sentry_sdk.integrations import logging
(getattr(logging, "ignore_logger_for_events", None) or logging.ignore_logger)("problemdetails")
from tests.sentry import run
run.main(sys.argv[1])
"""


@pytest.mark.parametrize("framework", ["starlette", "flask"])
def test_ignoring_the_logger_silences_5xx_answers_not_crashes(framework: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", IGNORED, framework], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert {path: seen[path]["events"] for path in FIVE_XX_EVENTS} == {path: [] for path in FIVE_XX_EVENTS}
    assert [event[0] for event in seen["/crash"]["events"]] == ["RuntimeError"]
