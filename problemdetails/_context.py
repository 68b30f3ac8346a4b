"""The request being served, for code that has no handle on it: its request id and trace id.

Both middlewares keep the request's ASGI scope or WSGI environ in a context
variable while the app handles it, so the app's own logs (`RequestContextFilter`),
outgoing calls (`problemdetails.client.propagation_hook`) and error reporters can
find the request id and trace id. Nothing is read until asked: the happy path
pays for setting the variable, and nothing else.

The trace id is the active OpenTelemetry span's when one is recording, else
the request's valid W3C `traceparent`'s. OpenTelemetry is consulted only
once the app has imported it: nothing here imports it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from problemdetails._exchange import exchange_of
from problemdetails._grammar import traceparent_trace_id

__all__ = [
    "RequestContextFilter",
    "current_request_id",
    "current_trace_id",
    "header",
    "recording_span",
    "serving",
    "span_trace_id",
    "trace_id_of",
]

# The scope or environ of the request being served in this context; None outside one.
serving: ContextVar[MutableMapping[str, Any] | None] = ContextVar("problemdetails.serving", default=None)


def current_request_id() -> str | None:
    """The id of the request being served (what its `X-Request-ID` says), or None outside a request.

    Inside a request that `ProblemMiddleware` or `WSGIProblemMiddleware` serves,
    from the view down to the libraries it calls, this is the id the response
    and its problem carry: put it on your own records, or send it on.

    ```python
    log.info("charging card", extra={"request_id": problemdetails.current_request_id()})
    ```
    """
    exchange = exchange_of(serving.get())
    return exchange.request_id.decode() if exchange is not None else None


def current_trace_id() -> str | None:
    """The W3C trace id of the current trace (32 lowercase hex digits), or None when there is none.

    The active OpenTelemetry span's when one is recording; else, inside a
    request, the trace id of its valid `traceparent` header.
    """
    native, span = serving.get(), recording_span()
    return trace_id_of(native, span) if native is not None else span_trace_id(span)


def recording_span() -> Any:
    """The active OpenTelemetry span when the app uses OpenTelemetry and one is recording, else None."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    span = trace.get_current_span()
    return span if span.is_recording() else None


def span_trace_id(span: Any) -> str | None:
    """The trace id of a recording span (`recording_span()`), 32 lowercase hex digits; None for no span."""
    if span is None:
        return None
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def trace_id_of(native: Mapping[str, Any], span: Any) -> str | None:
    """The trace id for a request (its ASGI scope or WSGI environ): `span`'s, else its `traceparent`'s."""
    found = span_trace_id(span)
    if found is not None:
        return found
    value = header(native, "traceparent")
    return traceparent_trace_id(value) if value is not None else None


def header(native: Mapping[str, Any], name: str, *, combined: bool = False) -> str | None:
    """A request header (lowercase `name`) sent exactly once, from an ASGI scope or a WSGI environ.

    With `combined=True`, for a list-based field (RFC 9110 §5.3), its field
    lines joined with commas, as a WSGI server joins them: "a recipient MAY
    combine multiple field lines within a field section that have the same
    field name into one field line ... by appending each subsequent field line
    value to the initial field line value in order, separated by a comma".
    """
    if "REQUEST_METHOD" in native:  # WSGI: a server joins repeated headers with commas
        value = native.get("HTTP_" + name.upper().replace("-", "_"))
        return value if isinstance(value, str) else None
    key = name.encode()
    values = [value for field, value in native.get("headers", ()) if field == key]
    if combined and values:
        return b",".join(values).decode("latin-1")
    return values[0].decode("latin-1") if len(values) == 1 else None


class RequestContextFilter(logging.Filter):
    """A logging filter that puts `request_id` and `trace_id` on every record (None outside a request).

    Add it to your handlers, and your own log lines carry the ids the problem
    responses carry:

    ```python
    handler.addFilter(problemdetails.RequestContextFilter())
    logging.basicConfig(format="%(levelname)s %(message)s request_id=%(request_id)s", handlers=[handler])
    ```

    A record that already has either attribute (`extra=`, or the `problemdetails`
    logger's own records) keeps it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "trace_id"):
            record.trace_id = current_trace_id()
        return True
