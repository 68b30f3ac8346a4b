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
) -> logging.LogRecord:
    """Log a problem response's record: `message % values` (escaped already), `fields` as its attributes."""
    filename, line, function, _ = logger.findCaller(stacklevel=stacklevel)  # the responder method that decided
    exc_info = (type(cause), cause, cause.__traceback__) if cause is not None else None
    record = logger.makeRecord(logger.name, level, filename, line, message, values, exc_info, function, fields)
    if cause is not None:
        record.exc_text = traceback_text(cause)
    logger.handle(record)
    return record  # for Sentry (`_telemetry.report`)


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
        (message, request, loggable(request_id)),  # `request` is escaped already (`where`)
        exc_info,
        function,
    )
    record.exc_text = traceback_text(exc)
    logger.handle(record)


def traceback_text(exc: BaseException) -> str:
    """`traceback.format_exception(exc)` as Python prints it, less 3.11's carets, with no line it did not write.

    Frames and source lines in the classic layout; exception groups in
    Python's own, every exception of the group (and of groups inside it) in
    its margin. Every line is escaped (`loggable`): an exception's message, a
    note, a file name may carry request data, and a CR, LF, U+2028 or any
    other character `str.splitlines` breaks on would start a forged line.
    A multi-line message (or a note) is one escaped line.
    """
    return "".join(_Layout().chain(exc)).rstrip("\n")


# Python's own bounds on printing a group (`traceback.TracebackException`'s defaults).
_GROUP_WIDTH = 15
_GROUP_DEPTH = 10
_CAUSE = ["\n", "The above exception was the direct cause of the following exception:\n", "\n"]
_CONTEXT = ["\n", "During handling of the above exception, another exception occurred:\n", "\n"]


class _Layout:
    """How Python lays out a traceback (`traceback._ExceptionPrintContext`): a group's depth sets the margin."""

    __slots__ = ("depth", "need_close", "seen")

    def __init__(self) -> None:
        self.depth = 0
        self.need_close = False  # the last exception of a group closes its box, unless a nested one did
        self.seen: set[int] = set()  # an exception is printed once, whatever cycles its chain makes

    def emit(self, lines: list[str], margin: str = "|") -> list[str]:
        if not self.depth:
            return lines
        prefix = "  " * self.depth + margin + " "
        return [prefix + line for line in lines]

    def chain(self, exc: BaseException) -> list[str]:
        """`exc` after what it was raised from (or while handling), oldest first, as Python chains them."""
        self.seen.add(id(exc))
        links: list[tuple[list[str], BaseException]] = []  # each exception, and what joins it to the one before
        current: BaseException | None = exc
        while current is not None:
            cause, context = current.__cause__, current.__context__
            if cause is not None and id(cause) not in self.seen:
                links.append((_CAUSE, current))
                current = cause
            elif context is not None and not current.__suppress_context__ and id(context) not in self.seen:
                links.append((_CONTEXT, current))
                current = context
            else:
                links.append(([], current))
                current = None
            if current is not None:
                self.seen.add(id(current))
        lines: list[str] = []
        for joint, current in reversed(links):
            lines += self.emit(joint)
            if not isinstance(current, EXCEPTION_GROUPS):
                if current.__traceback__ is not None:
                    lines += self.emit(["Traceback (most recent call last):\n", *_frames(current)])
                lines += self.emit(_message(current))
            elif self.depth > _GROUP_DEPTH:
                lines += self.emit([f"... (max_group_depth is {_GROUP_DEPTH})\n"])
            else:
                lines += self.group(current)
        return lines

    def group(self, exc: BaseException) -> list[str]:
        """An exception group: its own traceback, then each of its exceptions in a numbered box."""
        top = self.depth == 0
        if top:
            self.depth = 1
        lines: list[str] = []
        if exc.__traceback__ is not None:
            header = "Exception Group Traceback (most recent call last):\n"
            lines += self.emit([header], "+" if top else "|")
            lines += self.emit(_frames(exc))
        lines += self.emit(_message(exc))
        members: tuple[BaseException, ...] = exc.exceptions  # type: ignore[attr-defined]
        self.seen.update(id(member) for member in members)
        shown = min(len(members), _GROUP_WIDTH + 1)
        self.need_close = False
        for index in range(shown):
            last = index == shown - 1
            if last:
                self.need_close = True
            truncated = index >= _GROUP_WIDTH
            title = "..." if truncated else str(index + 1)
            lines.append(
                "  " * self.depth + ("+-" if index == 0 else "  ") + f"+---------------- {title} ----------------\n"
            )
            self.depth += 1
            if truncated:
                more = len(members) - _GROUP_WIDTH
                lines += self.emit([f"and {more} more exception{'s' if more > 1 else ''}\n"])
            else:
                lines += self.chain(members[index])
            if last and self.need_close:
                lines.append("  " * self.depth + "+------------------------------------\n")
                self.need_close = False
            self.depth -= 1
        if top:
            self.depth = 0
        return lines


def _frames(exc: BaseException) -> list[str]:
    lines: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        lines.append(loggable(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}') + "\n")
        source = linecache.getline(code.co_filename, tb.tb_lineno, tb.tb_frame.f_globals).strip()
        if source:
            lines.append(f"    {loggable(source)}\n")
        tb = tb.tb_next
    return lines


def _message(exc: BaseException) -> list[str]:
    # The message (and any notes) may carry request data: escaped, one line, it cannot forge others.
    return [loggable("".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")) + "\n"]
