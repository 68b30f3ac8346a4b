"""The decider: which problem answers an error, decided once, logged and recorded, with no I/O.

The first half of the responder (`_responder.py` answers with what is decided
here). One call per transport event, each a problem decided once (logged at
its level, counted, traced and reported):

    an exception before the response started ─► for_raised()   (the one a framework's hook decided, if any)
    an error page the app rendered            ─► for_page()     (its status's problem, a 4xx's message kept)
    no response at all                        ─► for_no_response()

An exception is a raised `Problem`, an `exception_map` entry (looked up
along the MRO), one of a loaded framework's own errors (each hand-over in
`_handovers/` reads its framework's: `FrameworkErrors`), or a crash: the
catalog's 500 problem, with nothing of the exception in it. Nothing in here
raises on the error path.
"""

from __future__ import annotations

import codecs
import functools
import html
import logging
import re
import sys
import traceback
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Protocol, TypeAlias

import msgspec

from problemdetails import _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import recording_span
from problemdetails._grammar import loggable
from problemdetails._grpc_codes import CODES, code_of
from problemdetails._logging import EXCEPTION_GROUPS, log_exception, log_problem
from problemdetails._member_types import ErrorItem, is_error_list
from problemdetails._problem import Problem
from problemdetails._request import Request
from problemdetails._response import json_document
from problemdetails._status import status_phrase

__all__ = [
    "HELD_BODY_LIMIT",
    "Decider",
    "ExceptionMap",
    "FrameworkErrors",
    "client_detail",
    "problem_for_status",
    "raised_through",
]

# What an exception class maps to: a slug, a problem class, or a function of the exception returning a problem.
ExceptionTarget: TypeAlias = "str | type[Problem] | Callable[[Any], Problem]"
ExceptionMap: TypeAlias = Mapping[type[BaseException], ExceptionTarget]

HELD_BODY_LIMIT = 64 * 1024  # enough for any {"detail": ...}; the rest is not read
_SHORT_TEXT = 1000  # a `text/html` body up to this long, with no markup, is a message (`detail` keeps 1000)


class FrameworkErrors(Protocol):
    """What a framework's hand-over knows of its errors (each `Framework` in `_handovers/` is one).

    It is asked only once its framework's package is imported.
    """

    @property
    def module(self) -> str:
        """The framework's top-level package."""

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """The problem for one of its own exceptions (an HTTP error, a validation error), else None."""

    def rendered(self, status: int, document: object, catalog: Catalog) -> Problem | None:
        """The problem for an error page of its own JSON shape (`document`, parsed), else None."""

    def disconnect(self, exc: BaseException, server: Sequence[object]) -> bool:
        """`exc` is its word for a client that went away (through the `server` callables)."""

    def websocket_close(self, exc: BaseException) -> tuple[int, str] | None:
        """The WebSocket close code and reason an exception of its own chose, else None."""


class Decider:
    """Which problem answers each error: the part of the responder that decides (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        exception_map: ExceptionMap | None = None,
        debug: bool = False,
        logger: logging.Logger | None = None,
        frameworks: Sequence[FrameworkErrors] = (),
    ) -> None:
        self.catalog = catalog
        self.exception_map: dict[type[BaseException], ExceptionTarget] = dict(exception_map or {})
        for cls, target in self.exception_map.items():
            _check_mapping(catalog, cls, target)
        self.debug = debug
        self.logger: logging.Logger = logger or logging.getLogger("problemdetails")
        self.frameworks: tuple[FrameworkErrors, ...] = tuple(frameworks)

    def _loaded(self) -> list[FrameworkErrors]:
        """The frameworks the process has imported: only they can have raised or rendered their errors."""
        return [framework for framework in self.frameworks if framework.module in sys.modules]

    # -- one call per transport event ------------------------------------------------

    def for_raised(self, exc: Exception, request: Request) -> Problem:
        """The problem for an exception the app raised: the one a framework's hook decided for it, if any.

        A framework that catches a crash, decides it through its hook, and then
        raises it anyway (Flask and Quart when testing) has had it logged once.
        """
        exchange = request.exchange
        decided = exchange.problem if exchange is not None else None
        return decided if decided is not None else self.problem_for(exc, request)

    def for_page(self, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes, request: Request) -> Problem:
        """The problem that replaces an error response the app rendered (or that a hook decided)."""
        exchange = request.exchange
        if exchange is not None and exchange.problem is not None:  # a framework's error hook decided it
            return exchange.problem
        try:
            problem = self.from_rendered(status, headers, body)
        except Exception as error:  # the error path never raises: the plain problem for the status
            self.log_exception(error, "reading the error response failed", request)
            problem = problem_for_status(self.catalog, status)
        return self.decide(problem, request, note="the app's error response, replaced")

    def from_rendered(self, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> Problem:
        """The problem for an error response the app rendered itself.

        A 4xx message meant for the client survives as `detail`: FastAPI's and
        DRF's `{"detail": "..."}`, the plain text Starlette renders an
        `HTTPException` as, or a sentence without markup sent as `text/html`;
        a JSON page of a framework's own shape is read by that framework's
        hand-over (`FrameworkErrors.rendered`). Never a 5xx body, and never an
        HTML page. A compressed page (gzip, deflate) is read decompressed.
        """
        media = encoding = b""
        for key, value in headers:
            name = key.lower()
            if name == b"content-type":
                media = value.lower()
            elif name == b"content-encoding":
                encoding = value
        if encoding:
            decoded = _decoded(encoding, body)
            if decoded is None:  # an encoding it cannot read: its bytes are no text, and keep no message
                return problem_for_status(self.catalog, status)
            body = decoded
        document: object = None
        if media.startswith(b"text/plain"):
            detail: object = _text(media, body) if len(body) < HELD_BODY_LIMIT else None
        elif media.startswith(b"text/html"):
            # Flask's and Quart's default mimetype: `return "no such order", 404` is a sentence sent as
            # text/html. A short one without markup is text (its entities undone); a page is never read.
            short = len(body) <= _SHORT_TEXT and b"<" not in body
            detail = html.unescape(_text(media, body)) if short else None
        else:
            document = json_document(body)
            detail = document.get("detail") if isinstance(document, dict) else None
            for framework in self._loaded():  # a framework's own shape (FastAPI's 422, Litestar's `extra` ...)
                problem = framework.rendered(status, document, self.catalog)
                if problem is not None:
                    return problem
        return problem_for_status(self.catalog, status, client_detail(status, detail))

    def for_no_response(self, request: Request) -> Problem:
        """The app returned without sending a response: a bug of the app's, answered with the 500 problem."""
        return self.decide(problem_for_status(self.catalog, 500), request, note="the app returned without a response")

    # -- which problem ------------------------------------------------------------

    def problem_for(
        self, exc: Exception, request: Request, translation: tuple[Problem | None, bool] | None = None
    ) -> Problem:
        """The problem for an exception, decided (logged and recorded) once.

        `translation` is `translation(exc)` when the caller has it already.
        Never raises: when mapping the exception fails (a buggy `exception_map`
        function, an exception whose `__str__` raises under `debug=True`), the
        answer is the plain 500 problem, and the failure is logged too.
        """
        try:
            problem, mapped = translation or ((exc, False) if isinstance(exc, Problem) else self.translation(exc))
        except Exception as error:
            self.log_exception(error, "mapping an exception to its problem failed", request)
            problem, mapped = None, False
        if problem is None:
            problem = problem_for_status(self.catalog, 500)
            if self.debug:
                problem.extensions["debug"] = _debug_member(exc)
            return self.decide(problem, request, exc, f"unhandled {type(exc).__name__}")
        if mapped:
            return self.decide(problem, request, exc, f"mapped from {type(exc).__name__}")
        return self.decide(problem, request)

    def decide(
        self,
        problem: Problem,
        request: Request,
        cause: BaseException | None = None,
        note: str = "",
    ) -> Problem:
        """The problem that answers a request, logged and recorded: once per problem response.

        A problem decoded from another service's response (`problemdetails.client`)
        and raised unchanged is answered with the catalog's 502: that service's
        404 is this one's upstream failure, not the client's missing resource,
        and its body may say what must not reach this service's clients
        (RFC 9457 §5: "consumers need to be careful not to leak ... implementation
        details"). Its status, code, type and request id go on the record.
        `cause` is the exception behind the problem when it was not one itself
        (unhandled, or mapped): its traceback goes on the record.

        The problem is counted, traced, tagged and logged under its code only
        when this catalog knows it, else under its status (`_telemetry.label`):
        a relayed problem's code is the upstream's choice, and unbounded.
        Every logged value is escaped.
        """
        upstream = problem.__dict__.get("_relayed")  # `Problem.relayed()`: passed on on purpose
        if problem.received is not None:
            upstream, problem = problem, problem_for_status(self.catalog, 502)
        code = _telemetry.label(self.catalog, problem)
        if request.exchange is not None:
            request.exchange.code = code
        span = recording_span()  # the one inside which this is decided: the body carries its trace id
        trace_id = request.trace_id_in(span)
        level = logging.ERROR if problem.status >= 500 else logging.INFO
        logged = None
        if self.logger.isEnabledFor(level):
            request_id = loggable(request.request_id)  # a sans-IO caller's `Request` may carry any text
            fields: dict[str, object] = {
                "problem_code": code if code == problem.code else None,  # None: outside this catalog
                "problem_status": problem.status,
                "request_id": request_id,
                "trace_id": trace_id,
                "method": loggable(request.method),
                "path": loggable(request.path),
            }
            if upstream is not None:
                fields.update(_upstream_fields(upstream))
                note = "upstream {upstream_status} {upstream_code} request_id={upstream_request_id}".format_map(fields)
            # A template and its values: error trackers group records by the template.
            message = "%s %s: %s request_id=%s (%s)" if note else "%s %s: %s request_id=%s"
            values = (problem.status, code, request.logged, request_id)
            logged = log_problem(
                self.logger, level, message, (*values, loggable(note)) if note else values, fields, cause, stacklevel=3
            )
        # A gRPC call (`Responder.rpc_status`) is counted and traced with the code it ends with too.
        rpc = CODES[code_of(problem)] if request.native.get("type") == "grpc" else None
        try:
            _telemetry.record(problem, code, cause if cause is not None else upstream, span, logged, rpc)
        except Exception as error:  # a tracing or metrics SDK's failure is no reason to fail the answer
            self.log_exception(error, "recording the problem for OpenTelemetry failed", request)
        return problem

    def code_for(self, exc: BaseException) -> str:
        """The label (`_telemetry.label`) of what answers `exc`, for a reporter that sees `exc` before it is decided."""
        try:
            problem = (
                exc if isinstance(exc, Problem) else self.translation(exc)[0] if isinstance(exc, Exception) else None
            )
        except Exception:  # a failing `exception_map` function: the 500 answers, and is logged when decided
            problem = None
        if problem is None:
            problem = problem_for_status(self.catalog, 500)
        elif problem.received is not None:
            problem = problem_for_status(self.catalog, 502)
        return _telemetry.label(self.catalog, problem)

    def translation(self, exc: Exception) -> tuple[Problem | None, bool]:
        """The problem `exc` stands for (mapped, or a framework's error), and whether `exception_map` mapped it.

        None for an unhandled exception. A mapped exception's traceback is logged
        with its problem; a framework's HTTP error is an answer, like a problem.
        An `exception_map` function that raises raises here: `problem_for` logs
        it with the request and answers with the 500 problem.
        """
        # Most services map nothing: a framework error then skips the walk up the MRO.
        mro = type(exc).__mro__ if self.exception_map else ()
        for cls in mro:
            target = self.exception_map.get(cls)
            if target is None:
                continue
            if isinstance(target, str):
                return self.catalog[target](), True
            if isinstance(target, type):  # a problem class: raised as the slug would be
                return target(), True
            produced = target(exc)  # a function that fails is the caller's to log, with the request
            return (produced, True) if isinstance(produced, Problem) else (None, False)
        # Only a loaded framework can have raised its own errors: nothing is imported here.
        for framework in self.frameworks:  # not `_loaded()`: no list on the path of every framework error
            if framework.module in sys.modules:
                problem = framework.problem(exc, self.catalog)
                if problem is not None:
                    return problem, False
        return None, False

    # -- what the server said -----------------------------------------------------

    def is_disconnect(self, exc: BaseException, server: Sequence[object] = ()) -> bool:
        """The server said the client went away: not an application error, and nobody is left to answer.

        A disconnect is what the server signals, never the class of an exception
        the app raised: a view whose database refuses connections raises
        `ConnectionRefusedError` too, and that is a crash, answered with the 500
        problem. `server` holds the callables through which the server speaks
        (ASGI `send` and `receive`, the WSGI `write`): an `OSError` counts only
        when it came out of one of them. The ASGI spec (2.4): "If send() is called
        on a closed connection the server should raise a server-specific subclass
        of IOError" (`OSError` since Python 3.3). A framework may have its own word
        for it (`FrameworkErrors.disconnect`: Starlette's `ClientDisconnect`).
        """
        if isinstance(exc, OSError):
            return raised_through(exc, server)
        return any(framework.disconnect(exc, server) for framework in self._loaded())

    def unwrap(self, exc: Exception, server: Sequence[object] = ()) -> Exception:
        """The exception an exception group stands for, or the group itself.

        `asyncio.TaskGroup` and anyio task groups (Starlette's streaming and
        background work) wrap what a task raised in an exception group. A group
        stands for its one exception: a problem, a mapped exception, or a client
        disconnect (when every exception in it is one the `server` callables
        signalled, see `is_disconnect`). Several problems of one
        type stand for the first of them. Anything else (different problems,
        or a problem beside a crash) has no single answer: the group is an
        unhandled exception, a 500 logged with every exception in it.
        """
        if not isinstance(exc, EXCEPTION_GROUPS):
            return exc
        leaves = _leaves(exc)
        if all(self.is_disconnect(leaf, server) for leaf in leaves):
            return leaves[0]  # type: ignore[return-value]  # a disconnect is an Exception
        leaves = [leaf for leaf in leaves if not self.is_disconnect(leaf, server)]
        first = leaves[0]
        if not isinstance(first, Exception):
            return exc
        if len(leaves) == 1:
            return first
        if isinstance(first, Problem) and all(type(leaf) is type(first) and leaf.type == first.type for leaf in leaves):
            return first
        return exc

    def websocket_close(self, exc: BaseException) -> tuple[int, str] | None:
        """The close code and reason the app chose with a framework's own exception (Starlette's
        `WebSocketException`), else None: the problem's close code answers."""
        for framework in self._loaded():
            chosen = framework.websocket_close(exc)
            if chosen is not None:
                return chosen
        return None

    def log_exception(self, exc: BaseException, message: str, request: Request) -> None:
        log_exception(self.logger, exc, message, request.logged, request.request_id)


def problem_for_status(
    catalog: Catalog, status: int, detail: str | None = None, errors: list[ErrorItem] | None = None
) -> Problem:
    """The catalog's problem for a framework error of `status`, or `about:blank` when it has none."""
    slug = catalog.status_slugs.get(status)
    if slug is None:
        return Problem(detail, status=status, errors=errors) if errors else Problem(detail, status=status)
    cls = catalog[slug]
    members: dict[str, Any] = {}
    for member in cls.__problemdetails__.members:
        if is_error_list(member.type) and (errors is not None or member.required):
            members[member.attribute] = errors or []  # a required list of items is there, empty if need be
    # `status_slugs` names no slug with other required members.
    problem = cls(detail, **members)
    if errors and not members and "errors" not in cls.__problemdetails__.attributes:
        # Validation items are never lost: a problem that declares no `errors` member carries them as
        # the extension member RFC 9457 §3 itself shows ("errors" in its example), and `check` warns
        # that the catalog should declare it.
        problem.extensions = {"errors": errors}
    return problem


def client_detail(status: int, detail: object) -> str | None:
    """A framework's `detail` worth passing on: a 4xx message that is not just the status phrase.

    5xx details are never passed on: they are where internals leak (RFC 9457 §5).
    """
    if status >= 500 or not isinstance(detail, str) or not (stripped := detail.strip()):
        return None
    if stripped.lower() in _default_details(status):
        return None
    return detail[:1000]


@functools.lru_cache(maxsize=256)  # statuses are few; the bound is for odd ones
def _default_details(status: int) -> frozenset[str]:
    """The phrases a framework uses as the default detail for `status` (a router 404's is "Not Found")."""
    phrases = {status_phrase(status).lower()}
    if status in HTTPStatus._value2member_map_:  # Starlette's default detail, RFC 7231 wording included
        phrases.add(HTTPStatus(status).phrase.lower())
    return frozenset(phrases)


def _check_mapping(catalog: Catalog, cls: object, target: object) -> None:
    """One `exception_map` entry, checked when the middleware is built: a mistake fails at start-up, not per request."""
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise TypeError(f"exception_map keys must be exception classes, not {cls!r}")
    if isinstance(target, str):
        if target not in catalog:
            raise ValueError(f"exception_map maps {cls.__name__} to unknown slug {target!r}")
        target = catalog[target]
    elif not callable(target):  # a problem class is callable too
        raise TypeError(
            f"exception_map maps {cls.__name__} to {target!r}: map it to a slug, a problem class, "
            "or a function that takes the exception and returns a problem"
        )
    if isinstance(target, type) and issubclass(target, Problem) and target.__problemdetails__.required:
        names = ", ".join(member.name for member in target.__problemdetails__.required)
        raise ValueError(
            f"exception_map maps {cls.__name__} to {target.__name__}, which requires members ({names}); "
            "map to a function that builds the problem instead"
        )


def _upstream_fields(upstream: Problem) -> dict[str, object]:
    """What a record says of a problem another service answered with: never its body, only what it was."""
    received = upstream.received
    return {
        "upstream_status": received.status if received is not None else upstream.status,
        "upstream_code": loggable(upstream.code) if upstream.code is not None else None,
        "upstream_type": loggable(upstream.type),
        "upstream_request_id": loggable(upstream.request_id) if upstream.request_id is not None else None,
    }


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, EXCEPTION_GROUPS):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]  # type: ignore[attr-defined]
    return [exc]


def raised_through(exc: BaseException, server: Sequence[object]) -> bool:
    """`exc` came out of one of the `server` callables: one of their frames is on its traceback."""
    codes = {code for code in map(_code_of, server) if code is not None}
    tb = exc.__traceback__
    while tb is not None and codes:
        if tb.tb_frame.f_code in codes:
            return True
        tb = tb.tb_next
    return False


def _code_of(function: object) -> Any:
    """The code object a callable runs (through bound methods, partials and callable objects), else None."""
    for _ in range(8):  # a bounded walk: a partial of a partial of a callable object...
        code = getattr(function, "__code__", None)
        if code is not None:
            return code
        inner = getattr(function, "func", None)  # functools.partial
        function = inner if inner is not None else type(function).__call__ if callable(function) else None
    return None  # built in C: it has no frame of its own


_CHARSET = re.compile(rb';\s*charset\s*=\s*"?([A-Za-z0-9._:+-]{1,40})', re.IGNORECASE)


def _text(media: bytes, body: bytes) -> str:
    """A text page's body in the charset its `Content-Type` names (RFC 2046 §4.1.2), else UTF-8; never fails."""
    declared = _CHARSET.search(media)
    if declared is not None:
        try:
            codec = codecs.lookup(declared[1].decode("ascii"))
        except LookupError:
            pass  # a charset Python does not know: read as UTF-8, as undeclared text is
        else:
            try:
                if codec._is_text_encoding:  # not a bytes-to-bytes codec such as `zlib` or `hex`
                    return body.decode(codec.name, "replace")
            except Exception:  # some codecs (idna, punycode) raise whatever the error handler
                pass
    return body.decode("utf-8", "replace")


def _decoded(encoding: bytes, body: bytes) -> bytes | None:
    """An error page's body with its content codings undone, at most `HELD_BODY_LIMIT` bytes; None if unreadable.

    RFC 9110 §8.4: codings are listed "in the order in which they were
    applied", so they are undone last first. gzip (and `x-gzip`, §8.4.1.3) and
    deflate (§8.4.1.2: the zlib format; raw deflate as sent by some servers)
    are read; any other (br, zstd, compress) is not. The output is bounded:
    a small compressed page never expands past what is read of any page.
    """
    codings = [coding.strip().lower() for coding in encoding.split(b",")]
    for coding in reversed(codings):
        if coding in (b"identity", b""):
            continue
        tries: tuple[int, ...]
        if coding in (b"gzip", b"x-gzip"):
            tries = (16 + zlib.MAX_WBITS,)
        elif coding == b"deflate":
            tries = (zlib.MAX_WBITS, -zlib.MAX_WBITS)
        else:
            return None
        for wbits in tries:
            try:
                body = zlib.decompressobj(wbits).decompress(body, HELD_BODY_LIMIT)
                break
            except zlib.error:
                continue
        else:
            return None
    return body


def _debug_member(exc: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    try:
        message = str(exc)
    except Exception:  # an exception whose `__str__` raises still gets its debug member
        message = f"<unprintable {type(exc).__name__}>"
    member: dict[str, Any] = msgspec.to_builtins(
        {
            "exception": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": message,
            "frames": [{"file": f.filename, "line": f.lineno, "function": f.name} for f in frames],
        }
    )
    return member
