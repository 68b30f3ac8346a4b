"""What the middlewares log: one record per problem response, tracebacks preformatted, request data escaped.

Logger `problemdetails`. Each problem response is one record, at INFO for a
4xx and ERROR for a 5xx, with the attributes an operator filters on:

    problem_code      the slug (None for a problem outside the catalog)
    problem_status    the HTTP status sent
    request_id        the X-Request-ID sent
    trace_id          the W3C trace id, when known (else None)
    method, path      the request, control characters escaped
    upstream_status, upstream_code, upstream_type, upstream_request_id
                      for a problem received from another service (else absent)

A problem raised as such carries no traceback (catalogued problems never pay
for formatting one); an exception that was not itself a problem (unhandled,
or mapped to a problem) is on its record with its traceback.
"""

from __future__ import annotations

import linecache
import logging
import sys
import traceback

from problemdetails._grammar import loggable

__all__ = ["EXCEPTION_GROUPS", "log_exception", "log_problem", "traceback_text", "where"]

if sys.version_info >= (3, 11):
    EXCEPTION_GROUPS: tuple[type[BaseException], ...] = (BaseExceptionGroup,)  # noqa: F821
else:  # pragma: no cover - anyio brings the backport on Python 3.10
    from exceptiongroup import BaseExceptionGroup as _BackportGroup

    EXCEPTION_GROUPS = (_BackportGroup,)


def where(method: str, path: str) -> str:
    """The request as logged: method and path, control characters escaped (no forged log lines)."""
    return f"{loggable(method)} {loggable(path)}"


def log_problem(
    logger: logging.Logger,
    level: int,
    message: str,
    values: tuple[object, ...],
    fields: dict[str, object],
    cause: BaseException | None,
    *,
    stacklevel: int,
) -> None:
    """Log a problem response's record: `message % values` (escaped already), `fields` as its attributes."""
    filename, line, function, _ = logger.findCaller(stacklevel=stacklevel)  # the responder method that decided
    exc_info = (type(cause), cause, cause.__traceback__) if cause is not None else None
    record = logger.makeRecord(logger.name, level, filename, line, message, values, exc_info, function, fields)
    if cause is not None:
        record.exc_text = traceback_text(cause)
    logger.handle(record)


def log_exception(
    logger: logging.Logger, exc: BaseException, message: str, request: str, request_id: str, *, stacklevel: int = 2
) -> None:
    """Log `message: METHOD /path request_id=...` at ERROR, with `exc`'s traceback.

    The traceback text is preformatted in the classic layout. Measured on the
    unhandled-500 path (benchmarks/E2E.md): Python 3.11's `traceback` re-reads
    every frame's positions and parses its source line to draw `^^^` carets,
    which cost more than the whole rest of the error path on a FastAPI stack.
    Handlers print `record.exc_text` when it is set; `exc_info` stays on the
    record for integrations that read it (Sentry...).
    """
    if not logger.isEnabledFor(logging.ERROR):
        return
    filename, line, function, _ = logger.findCaller(stacklevel=stacklevel)  # the middleware method that logs
    exc_info = (type(exc), exc, exc.__traceback__)
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        filename,
        line,
        "%s: %s request_id=%s",
        (message, request, request_id),
        exc_info,
        function,
    )
    record.exc_text = traceback_text(exc)
    logger.handle(record)


def traceback_text(exc: BaseException) -> str:
    """`traceback.format_exception` as Python printed it before 3.11: frames and source lines, no carets."""
    if isinstance(exc, EXCEPTION_GROUPS):  # nested groups: leave them to the full formatter
        return "".join(traceback.format_exception(exc)).rstrip("\n")
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines = ["Traceback (most recent call last):\n"] if current.__traceback__ is not None else []
        tb = current.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            lines.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}\n')
            source = linecache.getline(code.co_filename, tb.tb_lineno, tb.tb_frame.f_globals).strip()
            if source:
                lines.append(f"    {source}\n")
            tb = tb.tb_next
        # The message may carry request data: escaped, it cannot add forged log lines.
        lines.append(loggable("".join(traceback.format_exception_only(type(current), current)).rstrip("\n")) + "\n")
        parts.insert(0, "".join(lines))
        if current.__cause__ is not None:
            parts.insert(0, "\nThe above exception was the direct cause of the following exception:\n\n")
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            parts.insert(0, "\nDuring handling of the above exception, another exception occurred:\n\n")
            current = current.__context__
        else:
            current = None
    return "".join(parts).rstrip("\n")
