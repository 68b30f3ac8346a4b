"""The records' text: tracebacks in Python's layout, and one logged value never more than one line.

The records' fields are in `test_observability.py`; forging through the
request path is in `test_asgi_hostile.py`.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any, TypeVar

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from problemdetails import Catalog, ProblemMiddleware
from problemdetails._grammar import loggable
from problemdetails._logging import traceback_text
from problemdetails._types import Receive, Scope, Send
from tests.asgi import call

if sys.version_info < (3, 11):  # pragma: no cover - anyio brings the backport on Python 3.10
    from exceptiongroup import ExceptionGroup

# Every character `str.splitlines` breaks a line on (and so do log viewers and editors).
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def without_carets(text: str) -> str:
    """What Python prints, less 3.11's `^^^` lines (the library does not pay for drawing them)."""
    return "\n".join(line for line in text.split("\n") if not re.fullmatch(r"\s*[\^~]+\s*", line))


def python_text(exc: BaseException) -> str:
    return without_carets("".join(traceback.format_exception(exc)).rstrip("\n"))


E = TypeVar("E", bound=BaseException)


def caught(exc: E) -> E:
    """`exc` raised and caught, so it has a traceback."""
    try:
        raise exc
    except BaseException:
        return exc


def test_loggable_escapes_every_line_break_python_knows() -> None:
    assert {len(f"a{char}b".splitlines()) for char in LINE_BREAKS} == {2}  # the control: each one breaks
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert len(loggable(every).splitlines()) == 1
    for char in LINE_BREAKS:
        escaped = f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"
        assert loggable(f"a{char}b") == f"a{escaped}b"


def test_a_group_crash_cannot_forge_log_lines(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    """An exception group whose exceptions carry request data (CR, LF, U+2028) is one record of honest lines."""
    caplog.set_level(logging.INFO, logger="problemdetails")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def lookup() -> None:
            raise LookupError(f"no zone {scope['path']}")

        async def charge() -> None:
            raise RuntimeError("card declined")

        async with anyio.create_task_group() as group:  # the group Starlette's streaming work raises
            group.start_soon(lookup)
            group.start_soon(charge)

    forged = "/z\rFORGED-CR 1\nFORGED-LF 2\u2028FORGED-LS 3\x85FORGED-NEL 4"
    assert call(ProblemMiddleware(app, catalog=bundled), path=forged).status == 500
    (record,) = [record for record in caplog.records if record.name == "problemdetails"]
    text = caplog.handler.format(record)
    assert text.splitlines() == text.split("\n")  # no line break but LF in the whole record
    escaped = "/z\\x0dFORGED-CR 1\\x0aFORGED-LF 2\\u2028FORGED-LS 3\\x85FORGED-NEL 4"
    forging = [line for line in text.split("\n") if "FORGED" in line]
    assert len(forging) == 2, forging  # the record's message and the exception's: the path whole on each
    assert forging[0].endswith(f"GET {escaped} request_id={record.request_id} (unhandled ExceptionGroup)")  # type: ignore[attr-defined]
    assert forging[1] == f"    | LookupError: no zone {escaped}"
    assert "RuntimeError: card declined" in text  # every exception of the group is there


def group_tree() -> st.SearchStrategy[Exception]:
    leaves = st.builds(ValueError, st.text()) | st.builds(KeyError, st.text())
    return st.recursive(
        leaves,
        lambda inner: st.builds(ExceptionGroup, st.text(), st.lists(inner, min_size=1, max_size=4)),
        max_leaves=12,
    )


def plain(exc: Exception) -> Exception:
    """The same tree of exceptions, with one printable word for every message."""
    if isinstance(exc, ExceptionGroup):
        return ExceptionGroup("word", [plain(inner) for inner in exc.exceptions])
    return type(exc)("word")


@given(group_tree())
def test_messages_never_add_lines_to_a_traceback(exc: Exception) -> None:
    text = traceback_text(exc)
    assert text.splitlines() == text.split("\n")
    assert len(text.split("\n")) == len(traceback_text(plain(exc)).split("\n"))


def _noted_failure() -> Exception:
    """A failure in code whose file name has a line separator, with a note that has a CR."""
    namespace: dict[str, Any] = {}
    exec(compile("def fail():\n    raise ValueError('x')\n", "gen\u2028FORGED file", "exec"), namespace)
    try:
        namespace["fail"]()
    except ValueError as error:
        error.add_note("noted\rFORGED note")
        return error
    raise AssertionError("fail() raises")


def test_file_names_and_notes_cannot_forge_lines() -> None:
    error = _noted_failure()
    group = caught(ExceptionGroup("g\x1cFORGED group", [error]))
    for exc in (error, group):
        text = traceback_text(exc)
        assert text.splitlines() == text.split("\n")
        assert not [line for line in text.split("\n") if line.lstrip(" |+-").startswith("FORGED")]
        assert "gen\\u2028FORGED file" in text
        assert "x\\x0anoted\\x0dFORGED note" in text  # the note on the message's line
    assert "g\\x1cFORGED group (1 sub-exception)" in traceback_text(group)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(lambda: ValueError("a"), id="one"),
        pytest.param(lambda: ExceptionGroup("tasks", [ValueError("a"), TypeError("b")]), id="group"),
        pytest.param(
            lambda: ExceptionGroup("outer", [caught(ExceptionGroup("inner", [caught(KeyError("k"))])), OSError(2)]),
            id="nested",
        ),
        pytest.param(
            lambda: ExceptionGroup("wide", [ValueError(str(n)) for n in range(20)]),  # past Python's width of 15
            id="wide",
        ),
        pytest.param(lambda: _deep(14), id="deep"),  # past Python's depth of 10
        pytest.param(lambda: _chained_group(), id="chained"),
    ],
)
def test_tracebacks_are_as_python_prints_them_without_carets(exc: Any) -> None:
    raised = caught(exc())
    assert traceback_text(raised) == python_text(raised)


def _deep(levels: int) -> Exception:
    exc: Exception = ValueError("bottom")
    for level in range(levels):
        exc = ExceptionGroup(f"level {level}", [caught(exc)])
    return exc


def _chained_group() -> Exception:
    try:
        try:
            raise ExceptionGroup("first", [caught(ValueError("a"))])
        except ExceptionGroup as group:
            raise RuntimeError("while cleaning up") from group
    except RuntimeError as error:
        return ExceptionGroup("second", [error, caught(TypeError("b"))])
