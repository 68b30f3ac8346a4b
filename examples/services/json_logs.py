"""JSON log lines with the fields an operator filters on: what both services log with.

The guide's "In production" chapter shows the same formatter.
"""

from __future__ import annotations

import json
import logging

import problemdetails

FIELDS = ("problem_code", "problem_status", "request_id", "trace_id", "method", "path")
UPSTREAM = ("upstream_status", "upstream_code", "upstream_type", "upstream_request_id")


class JSONFormatter(logging.Formatter):
    """One JSON object per record: the message, and every field a `problemdetails` record carries."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update(
            (name, value) for name in (*FIELDS, *UPSTREAM) if (value := getattr(record, name, None)) is not None
        )
        if record.exc_info:
            line["traceback"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line)


def configure(service: str) -> None:
    """JSON lines on stdout, the request and trace ids on the app's own records too."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter())
    handler.addFilter(problemdetails.RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger(service).info("%s started", service)
