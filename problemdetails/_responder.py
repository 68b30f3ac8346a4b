"""The responder: what answers an error, decided with no I/O.

The transports (`ProblemMiddleware` for ASGI, `WSGIProblemMiddleware` for WSGI)
and the framework hand-overs (`_handovers/`) only carry bytes and exceptions to
it. For each error it decides which problem answers it (a raised `Problem`, a
mapped exception, a framework error, an error page the app rendered) and the
status, headers and body that carry it, in the negotiated representation:

    exception ──► problem_for() ─┐
    rendered error ► replacement()─┴► answer() ──► (status, headers, body)

Nothing in here raises on the error path: what cannot be built is answered
with the catalog's plain 500 problem, and logged.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
import sys
import traceback
import zlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeAlias
from urllib.parse import quote

import msgspec

from problemdetails import _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import HANDOVER, REQUEST_ID, recording_span, trace_id_of
from problemdetails._framework_errors import client_detail, litestar_error_items, problem_for_status, validation_problem
from problemdetails._grammar import (
    MAX_DELAY_SECONDS,
    delay_seconds,
    field_name,
    field_value,
    is_http_date,
    is_request_id,
    loggable,
)
from problemdetails._logging import EXCEPTION_GROUPS, log_exception, log_problem, where
from problemdetails._member_types import is_uri_reference
from problemdetails._problem import Problem
from problemdetails._profiles import WireProfile
from problemdetails._request_id import new_request_id
from problemdetails._response import asks_for_problem_json, choose_media_type, json_document, render
from problemdetails._wire import encode_wire

__all__ = [
    "ANSWERED",
    "DECIDED",
    "HANDOVER",
    "OBSERVERS",
    "PROBLEM_HEADERS",
    "REQUEST_ID",
    "Answer",
    "ExceptionMap",
    "FrameworkErrors",
    "ProblemHeaders",
    "Request",
    "Responder",
    "is_disconnect",
    "is_problem",
    "request_of",
    "request_path",
    "unwrap",
    "with_answer",
]

# The keys a middleware puts in every ASGI scope / WSGI environ it serves
# (`_context`): the request id (bytes) and the hand-over object through which
# the framework's error hooks reach it (`_handovers.base.HandOver`). A hook that
# catches an exception leaves the problem decided for it under DECIDED (already
# logged, in the framework's own context), and the middleware answers with that
# problem in place of the framework's error page.
DECIDED = "problemdetails.decided"
# A hook that answers with the problem's response itself (its body and media type,
# through the framework's own response machinery) leaves the whole answer here:
# the middleware gives that response the answer's headers on its way out.
ANSWERED = "problemdetails.answered"
# Test tooling (`pytest -p problemdetails.pytest`) watches every problem response
# a middleware sends: each observer gets (catalog, status, content type, body).
OBSERVERS: list[Callable[[Catalog, int, bytes, bytes], None]] = []

# What an exception class maps to: a slug, a problem class, or a function of the exception returning a problem.
ExceptionTarget: TypeAlias = "str | type[Problem] | Callable[[Any], Problem]"
ExceptionMap: TypeAlias = Mapping[type[BaseException], ExceptionTarget]

# Representation headers describe the body being replaced, so they go; the rest
# (CORS, Allow, WWW-Authenticate, Retry-After, Set-Cookie ...) survive.
DROPPED = frozenset(
    {
        b"content-type",
        b"content-length",
        b"content-encoding",
        b"content-disposition",
        b"content-language",
        b"content-range",
        b"content-location",
        b"etag",
        b"last-modified",
        b"transfer-encoding",
        b"x-request-id",
        b"vary",
        b"cache-control",
        b"x-content-type-options",
        b"connection",
        b"keep-alive",
    }
)
PROBLEM_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), (b"vary", b"Accept"))
# A path that is already a valid URI path needs no quoting (the common case).
_is_plain_path = re.compile(r"[A-Za-z0-9/\-._~!$&'()*+,;=:@]*").fullmatch
HELD_BODY_LIMIT = 64 * 1024  # enough for any {"detail": ...}; the rest is not read
_ENCODING = frozenset({b"accept-encoding"})
_SHORT_TEXT = 1000  # a `text/html` body up to this long, with no markup, is a message (`detail` keeps 1000)


class FrameworkErrors(Protocol):
    """A framework's own error types, read as problems (each hand-over in `_handovers/` is one)."""

    @property
    def module(self) -> str:
        """The framework's top-level package: it is asked only once that is imported."""

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None: ...


def is_disconnect(exc: BaseException, server: Sequence[object] = ()) -> bool:
    """The server said the client went away: not an application error, and nobody is left to answer.

    A disconnect is what the server signals, never the class of an exception
    the app raised: a view whose database refuses connections raises
    `ConnectionRefusedError` too, and that is a crash, answered with the 500
    problem. `server` holds the callables through which the server speaks
    (ASGI `send` and `receive`, the WSGI `write`): an `OSError` counts only
    when it came out of one of them. The ASGI spec (2.4): "If send() is called
    on a closed connection the server should raise a server-specific subclass
    of IOError" (`OSError` since Python 3.3). Starlette's `ClientDisconnect` is its word for an `http.disconnect`
    that `receive` returned, or for an `OSError` out of `send` (its context).
    """
    if isinstance(exc, OSError):
        return _raised_through(exc, server)
    starlette = sys.modules.get("starlette.requests")
    if starlette is not None and isinstance(exc, starlette.ClientDisconnect):
        context = exc.__context__
        return context is None or (isinstance(context, OSError) and _raised_through(context, server))
    return False


def _raised_through(exc: BaseException, server: Sequence[object]) -> bool:
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


def is_problem(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """The response is already a problem (problem+json or problem+xml): nothing to replace."""
    for key, value in headers:
        if key.lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media in (b"application/problem+json", b"application/problem+xml")
    return False


def with_answer(
    answered: tuple[int, list[tuple[bytes, bytes]]], headers: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """The headers of a response a hook built from `answered`: the answer's, then the framework's own others.

    The framework's response machinery and middleware may add headers
    (`Set-Cookie`, CORS); those stay, but not its representation headers.
    """
    pinned = answered[1]
    names = {key for key, _ in pinned}
    others = [(key, value) for key, value in headers if key.lower() not in DROPPED and key.lower() not in names]
    varies = [value for key, value in headers if key.lower() == b"vary"]
    if varies:  # a CORS layer's `Vary: Origin` goes with the origin it echoed
        pinned = [(key, merged_vary([value, *varies]) if key == b"vary" else value) for key, value in pinned]
    return [*pinned, *others]


def merged_vary(values: Iterable[bytes], without: frozenset[bytes] = frozenset()) -> bytes:
    """One `Vary` value from several: each field name once, in order, or `*` alone.

    RFC 9110 §12.5.5: "A Vary field value containing a list of field names
    can be used to indicate that the representation varies on those request
    fields; a value of "*" signals that anything about the request might play
    a role". A problem response varies on Accept; the headers it keeps from the
    app (CORS's `Access-Control-Allow-Origin`) may vary on more. Names in
    `without` (lowercase) are left out.
    """
    names: dict[bytes, bytes] = {}
    for value in values:
        for name in value.split(b","):
            name = name.strip()
            if name == b"*":
                return b"*"
            if name and name.lower() not in without:
                names.setdefault(name.lower(), name)
    return b", ".join(names.values())


def request_path(native: Mapping[str, Any]) -> str:
    """The default `instance`: the request path, percent-encoded, without the query string.

    `native` is the ASGI scope or the WSGI environ.
    """
    path: str
    if "PATH_INFO" in native or "SCRIPT_NAME" in native:
        # PEP 3333: the path is the request's bytes decoded as latin-1.
        path = native.get("SCRIPT_NAME", "") + native.get("PATH_INFO", "")
        if not _is_plain_path(path):
            path = quote(path.encode("latin-1", "replace"), safe="/!$&'()*+,;=:@-._~")
        return _same_origin(path or "/")
    path = native.get("path") or "/"
    path = path if _is_plain_path(path) else quote(path, safe="/!$&'()*+,;=:@-._~")
    return _same_origin(path)


def _same_origin(reference: str) -> str:
    """`reference`, but never a network-path reference (`//host/x`), which resolves to another host.

    RFC 3986 §4.2: "A relative reference that begins with two slash characters
    is termed a network-path reference". A path `//evil.example/x` is sent as
    `/.//evil.example/x`, which resolves (§5.2.4 removes the `/.`) to that same
    path on this host.
    """
    return "/." + reference if reference.startswith("//") else reference


class ProblemHeaders(list[tuple[bytes, bytes]]):
    """The headers of a problem response a middleware built.

    A framework's exception handler sends it through the app, so it comes
    back through the ASGI middleware's `send`, which passes it on as it is: it
    is already the final response (an HTML page or a legacy profile's JSON too,
    which would otherwise look like an error page to replace). A middleware that
    copies the list makes it an ordinary list, and then it is inspected.
    """

    __slots__ = ()


class Answer(NamedTuple):
    """A problem response: what to send, as `Responder.answer` gives it (header names lowercase bytes)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Request:
    """The facts of a request that the responder decides on: method, path, headers, request id.

    Build one to answer an error in a stack this library does not ship
    (`Responder.answer`); the middlewares build theirs from the ASGI scope or
    WSGI environ. `headers` are (name, value) pairs, `str` or `bytes`. The
    request id is `request_id` when given, else the request's valid
    `X-Request-ID`, else a new one; `Accept` picks the representation and
    `traceparent` gives problems their `trace_id`.

    ```python
    request = problemdetails.Request("GET", "/v1/zones/42", [("Accept", "application/json")])
    ```
    """

    __slots__ = ("_trace_id", "accept", "method", "native", "path", "request_id")

    method: str
    path: str
    accept: bytes
    request_id: str
    native: MutableMapping[str, Any]  # the ASGI scope or the WSGI environ: what `instance=` functions get

    def __init__(
        self,
        method: str,
        path: str,
        headers: Iterable[tuple[str | bytes, str | bytes]] = (),
        *,
        request_id: str | None = None,
    ) -> None:
        fields = [(_field_bytes(name).lower(), _field_bytes(value)) for name, value in headers]
        if request_id is None:
            given = next((value for name, value in fields if name == b"x-request-id"), b"")
            request_id = given.decode() if given and is_request_id(given) else new_request_id().decode()
        accept = next((value for name, value in fields if name == b"accept"), b"")
        # An ASGI-like scope of these facts: what `instance=`, `enrich=` and the trace context read.
        native: dict[str, Any] = {
            "type": "http",
            "method": method,
            "path": path,
            "headers": fields,
            "query_string": b"",
        }
        native[REQUEST_ID] = request_id.encode()
        self._set(method, path, accept, request_id, native)
        native[_REQUEST] = self

    @classmethod
    def _of(cls, method: str, path: str, accept: bytes, request_id: str, native: MutableMapping[str, Any]) -> Request:
        """The facts a middleware read from its scope or environ (no header is read twice)."""
        request = cls.__new__(cls)
        request._set(method, path, accept, request_id, native)
        return request

    def _set(self, method: str, path: str, accept: bytes, request_id: str, native: MutableMapping[str, Any]) -> None:
        self.method, self.path, self.accept, self.request_id, self.native = method, path, accept, request_id, native
        self._trace_id: str | bool | None = False  # not looked up yet

    @property
    def logged(self) -> str:
        return where(self.method, self.path)

    @property
    def trace_id(self) -> str | None:
        """The request's W3C trace id (the active span's, else its `traceparent`'s), read once."""
        if self._trace_id is False:
            self._trace_id = trace_id_of(self.native, recording_span())
        return self._trace_id  # type: ignore[return-value]


def _field_bytes(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("latin-1", "replace")
    raise TypeError(f"Request(): header names and values are str or bytes, not {type(text).__name__}")


def request_of(native: MutableMapping[str, Any], request_id: str | None = None) -> Request:
    """The facts of a request from its ASGI scope or WSGI environ (the request id as a middleware set it)."""
    known = native.get(_REQUEST)
    if isinstance(known, Request) and (request_id is None or request_id == known.request_id):
        return known  # an error may pass several hooks: the facts are read once
    if request_id is None:
        raw = native.get(REQUEST_ID)
        request_id = raw.decode() if isinstance(raw, bytes) else ""
    request = _read_request(native, request_id)
    native[_REQUEST] = request
    return request


_REQUEST = "problemdetails.request"


def _read_request(native: MutableMapping[str, Any], request_id: str) -> Request:
    if "REQUEST_METHOD" in native:  # WSGI
        # PEP 3333: the path is the request's bytes decoded as latin-1; logged as the UTF-8 it was.
        path = (native.get("SCRIPT_NAME", "") + native.get("PATH_INFO", "")).encode("latin-1", "replace")
        accept = native.get("HTTP_ACCEPT", "").encode("latin-1", "replace")
        method = str(native["REQUEST_METHOD"])
        return Request._of(method, path.decode("utf-8", "replace"), accept, request_id, native)
    accept = b""
    for key, value in native.get("headers", ()):
        if key == b"accept":
            accept = value
            break
    method = str(native.get("method", "WEBSOCKET"))
    return Request._of(method, str(native.get("path", "")), accept, request_id, native)


class Responder:
    """Decides the problem response for every error, with no I/O: what every middleware and hand-over asks.

    Use it directly in a stack this library does not ship: build it once with
    the options of `ProblemMiddleware` that decide answers (`exception_map`,
    `debug`, `www_authenticate`, `profile`, `instance`, `logger`, `enrich`;
    see `ProblemMiddleware` for what each means), then `answer` each exception
    your handler raised:

    ```python
    responder = problemdetails.Responder(catalog, exception_map={TimeoutError: "gateway-timeout"})
    answer = responder.answer(exc, problemdetails.Request("GET", "/v1/zones", headers))
    ```
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        exception_map: ExceptionMap | None = None,
        debug: bool = False,
        www_authenticate: str = "Bearer",
        profile: WireProfile | None = None,
        instance: Callable[[Any], str | None] | None = request_path,
        logger: logging.Logger | None = None,
        frameworks: Sequence[FrameworkErrors] = (),
        enrich: Callable[[Problem, Any], Problem | None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.exception_map: dict[type[BaseException], ExceptionTarget] = dict(exception_map or {})
        for cls, target in self.exception_map.items():
            _check_mapping(catalog, cls, target)
        self.debug = debug
        challenge = field_value(www_authenticate)
        if challenge is None:
            raise ValueError(f"www_authenticate must be a valid HTTP field value, not {www_authenticate!r}")
        self.www_authenticate = challenge
        self.profile = profile
        self.instance = instance
        self.logger: logging.Logger = logger or logging.getLogger("problemdetails")
        self.frameworks: tuple[FrameworkErrors, ...] = tuple(frameworks)
        self.enrich = enrich
        # Every method the wrapped app accepts at a path, for `Allow` on a 405: set by
        # the hand-over of a framework whose routes can be read (Starlette, FastAPI).
        self.allowed_methods: Callable[[Request], list[str] | None] | None = None
        # Given a rebased catalog, problems raised from the original's classes (a generated
        # module's) go out with this catalog's type URIs: original type -> rebased type.
        origin = catalog.origin
        self._rebased = {origin.problems[slug].type: catalog[slug] for slug in catalog} if origin else {}

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
        request.native[_telemetry.CODE] = code
        span = recording_span()  # the one inside which this is decided: the body carries its trace id
        if request._trace_id is False:
            request._trace_id = trace_id_of(request.native, span)
        trace_id = request.trace_id
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
        try:
            _telemetry.install_sentry()
            _telemetry.report(logged)
            _telemetry.record(problem, code, cause if cause is not None else upstream, span)
        except Exception as error:  # a tracing or metrics SDK's failure is no reason to fail the answer
            self.log_exception(error, "recording the problem for OpenTelemetry failed", request)
        return problem

    def raised(self, exc: Exception, request: Request) -> Problem:
        """The problem for an exception the app raised: the one a framework's hook decided for it, if any.

        A framework that catches a crash, decides it through its hook, and then
        raises it anyway (Flask and Quart when testing) has had it logged once.
        """
        decided = request.native.get(DECIDED)
        return decided if isinstance(decided, Problem) else self.problem_for(exc, request)

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
        for framework in self.frameworks:
            if framework.module in sys.modules:
                problem = framework.problem(exc, self.catalog)
                if problem is not None:
                    return problem, False
        return None, False

    def replacement(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, request: Request) -> Problem:
        """The problem that replaces an error response the app rendered (or that a hook decided)."""
        decided = request.native.get(DECIDED)  # put there by a framework's error hook
        if isinstance(decided, Problem):
            return decided
        try:
            problem = self.from_rendered(status, headers, body)
        except Exception as error:  # the error path never raises: the plain problem for the status
            self.log_exception(error, "reading the error response failed", request)
            problem = problem_for_status(self.catalog, status)
        return self.decide(problem, request, note="the app's error response, replaced")

    def from_rendered(self, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> Problem:
        """The problem for an error response the app rendered itself.

        A 4xx message meant for the client survives as `detail`: FastAPI's and
        DRF's `{"detail": "..."}`, Falcon's `{"title", "description"}`, or the
        plain text Starlette renders an `HTTPException` as, or a sentence
        without markup sent as `text/html`. Never a 5xx body, and never an HTML
        page. A compressed page (gzip, deflate) is read decompressed.
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
            detail = None
            if isinstance(document, dict):
                detail = document.get("detail", document.get("description"))
        if status == 422 and isinstance(detail, list) and all(isinstance(item, dict) for item in detail):
            return validation_problem(self.catalog, detail)  # FastAPI
        errors = litestar_error_items(document.get("extra")) if isinstance(document, dict) else None
        return problem_for_status(self.catalog, status, client_detail(status, detail), errors)

    def unanswered(self, request: Request) -> Problem:
        """The app returned without sending a response: a bug of the app's, answered with the 500 problem."""
        return self.decide(problem_for_status(self.catalog, 500), request, note="the app returned without a response")

    # -- the response -------------------------------------------------------------

    def answer(self, exc: BaseException, request: Request) -> Answer:
        """The response that answers `exc` in `request`: decided, logged, counted and traced, as every middleware's.

        For a stack this library does not ship (aiohttp, Tornado, a server of
        your own): catch the exception your handler raised, ask, and send the
        status, headers and body you get. Never raises. A HEAD request gets
        GET's headers (`Content-Length` included) and an empty body.

        ```python
        answer = responder.answer(exc, problemdetails.Request("GET", "/v1/zones/42", headers))
        send(answer.status, answer.headers, answer.body)
        ```
        """
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit...: not the error path's
            raise exc
        status, headers, body = self.respond(self.problem_for(unwrap(exc), request), request)
        return Answer(status, headers, b"" if request.method == "HEAD" else body)

    def respond(self, problem: Problem, request: Request, kept: Sequence[tuple[bytes, bytes]] = ()) -> Answer:
        """The status, headers and body that answer with `problem`, decided already; never fails.

        A response may fail to build for reasons of the problem's own (an
        extension member msgspec cannot encode, a profile that raises); the
        catalog's 500 problem as problem+json, with no instance and no extra
        headers, always builds.
        """
        try:
            answer = self._response(problem, request, kept)
        except Exception as error:
            self.log_exception(error, "building the problem response failed", request)
            fallback = problem_for_status(self.catalog, 500)
            body = encode_wire(msgspec.structs.replace(fallback._wire, request_id=request.request_id))
            headers = [(b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(body))]
            request_id = (b"x-request-id", request.request_id.encode())
            answer = Answer(500, ProblemHeaders([*headers, *PROBLEM_HEADERS, request_id]), body)
        for observer in OBSERVERS:
            observer(self.catalog, answer[0], answer[1][0][1], answer[2])
        return answer

    def _response(self, problem: Problem, request: Request, kept: Sequence[tuple[bytes, bytes]]) -> Answer:
        if self._rebased and problem._wire.type in self._rebased:
            problem = problem._rebound(self._rebased[problem._wire.type])
        instance = problem._wire.instance
        if instance is not None:
            instance = _same_origin(instance)
        elif self.instance is request_path:  # the default: a URI reference by construction
            instance = request_path(request.native)
        elif self.instance is not None:
            instance = self._instance(request)
        accept = request.accept
        kind = choose_media_type(accept)
        request_id, trace_id = request.request_id, request.trace_id
        if self.enrich is not None:
            occurrence = problem._occurrence(instance=instance, request_id=request_id, trace_id=trace_id)
            problem = self._enriched(occurrence, request)
        if self.profile is not None and kind == "json" and not asks_for_problem_json(accept):
            # A legacy client: it keeps the shape it knows (see `WireProfile`).
            problem = problem._occurrence(instance=instance, request_id=request_id, trace_id=trace_id)
            body, media_type = self.profile.encode(problem), self.profile.media_type.encode()
        elif kind == "json" and not problem.extensions:  # the common case: encode the wire Struct directly
            wire = msgspec.structs.replace(problem._wire, instance=instance, request_id=request_id, trace_id=trace_id)
            body, media_type = encode_wire(wire), b"application/problem+json"
        else:
            problem = problem._occurrence(instance=instance, request_id=request_id, trace_id=trace_id)
            body, media_type = render(problem, kind, language=self.catalog.language)
        headers = ProblemHeaders(
            [
                (b"content-type", media_type),
                (b"content-length", b"%d" % len(body)),
                *PROBLEM_HEADERS,
                (b"x-request-id", request_id.encode()),
            ]
        )
        if kept or problem.headers or problem.__sets_headers__:
            extra, vary = self._extra_headers(request, problem, kept)
            if vary is not None:
                headers = ProblemHeaders([(name, vary if name == b"vary" else value) for name, value in headers])
            headers += extra
        return Answer(problem.status, headers, body)

    def _enriched(self, problem: Problem, request: Request) -> Problem:
        """What the `enrich` hook makes of `problem`: itself with more members or headers, else `problem`.

        A hook that fails, or returns anything but this problem (same type and
        status) with more members, is logged, and the problem goes out as it was.
        """
        assert self.enrich is not None
        try:
            enriched = self.enrich(problem, request.native)
        except Exception as error:
            self.log_exception(error, "the enrich hook failed", request)
            return problem
        if enriched is None:
            return problem
        if not isinstance(enriched, Problem) or (enriched.type, enriched.status) != (problem.type, problem.status):
            self.logger.error(
                "the enrich hook returned %s, not this problem with more members request_id=%s",
                loggable(type(enriched).__name__),
                loggable(request.request_id),
            )
            return problem
        return enriched

    def _instance(self, request: Request) -> str | None:
        """The `instance` function's answer; a function that fails or answers no URI reference gives none."""
        assert self.instance is not None
        try:
            instance = self.instance(request.native)
            if instance is None or (isinstance(instance, str) and is_uri_reference(instance)):
                return None if instance is None else _same_origin(instance)
            self.logger.error(
                "the instance function returned %s, which is not a URI reference", type(instance).__name__
            )
        except Exception as error:
            self.log_exception(error, "the instance function failed", request)
        return None

    def _extra_headers(
        self, request: Request, problem: Problem, kept: Sequence[tuple[bytes, bytes]]
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """The headers a problem response carries beyond its own (kept from the app, the problem's, the RFCs'),
        and its `Vary` when what it keeps varies on more than Accept.

        The middleware owns framing and the headers it pins (`Content-Length`,
        `Transfer-Encoding`, `Content-Type`, `X-Request-ID`...): a second one
        from the app or the problem is dropped, never sent (two lengths, or a
        length and chunked, is request smuggling behind a proxy). So is any
        header whose name is no token or whose value holds a control character.
        A header the app sent several times (`Set-Cookie`: RFC 6265 §3, "Origin
        servers SHOULD NOT fold multiple Set-Cookie header fields") is kept as
        many times; one the problem sets replaces the app's.
        """
        headers: dict[bytes, list[bytes]] = {}
        varies: list[bytes] = []
        given = len(kept)
        for index, (key, value) in enumerate([*kept, *problem.headers.items()]):
            if isinstance(key, bytes) and key.lower() in DROPPED and key.lower() != b"vary":
                continue  # most of what an error page the app rendered carries: no need to check it
            name, field = field_name(key), field_value(value)
            if name is None or field is None:  # RFC 9110 §5.5: no header injection
                shown = repr(key) if isinstance(key, (str, bytes)) else f"of type {type(key).__name__}"
                self.logger.warning("dropped header %s: not a valid HTTP field", loggable(shown))
            elif name == b"vary":
                varies.append(field)
            elif name not in DROPPED:
                if index < given:
                    headers.setdefault(name, []).append(field)
                else:
                    headers[name] = [field]
        if problem.status == 405 and self.allowed_methods is not None and (methods := self.allowed_methods(request)):
            allow = field_value(", ".join(methods))
            if allow is not None:
                headers[b"allow"] = [allow]
        if problem.status == 401 and b"www-authenticate" not in headers:
            # RFC 9110 §15.5.2: a 401 "MUST send a WWW-Authenticate header field".
            headers[b"www-authenticate"] = [self.www_authenticate]
        retry_after = _retry_after(problem, headers.pop(b"retry-after", [None])[-1])
        if retry_after is not None:
            headers[b"retry-after"] = [retry_after]
        extra = [(name, value) for name, values in headers.items() for value in values]
        # The replaced page's `Accept-Encoding` went with its encoded body: this one is not encoded.
        return extra, merged_vary([b"Accept", *varies], _ENCODING) if varies else None

    def log_exception(self, exc: BaseException, message: str, request: Request) -> None:
        log_exception(self.logger, exc, message, request.logged, request.request_id)


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
    if isinstance(target, type) and issubclass(target, Problem) and target.__required__:
        names = ", ".join(member.name for member in target.__required__)
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


def unwrap(exc: Exception, server: Sequence[object] = ()) -> Exception:
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
    if all(is_disconnect(leaf, server) for leaf in leaves):
        return leaves[0]  # type: ignore[return-value]  # a disconnect is an Exception
    leaves = [leaf for leaf in leaves if not is_disconnect(leaf, server)]
    first = leaves[0]
    if not isinstance(first, Exception):
        return exc
    if len(leaves) == 1:
        return first
    if isinstance(first, Problem) and all(type(leaf) is type(first) and leaf.type == first.type for leaf in leaves):
        return first
    return exc


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


def _retry_after(problem: Problem, given: bytes | None) -> bytes | None:
    """`Retry-After` as delay-seconds or IMF-fixdate (RFC 9110 §10.2.3), never negative, at most 2^31 seconds."""
    if given is not None:
        text = given.decode("latin-1")
        seconds = delay_seconds(text)
        if seconds is not None:
            return b"%d" % seconds
        return given if is_http_date(text.strip()) else None  # neither delay-seconds nor a date: drop it
    seconds = problem.members.get("retry_after")
    if isinstance(seconds, int) and problem.spec is not None and "retry-after" in map(str.lower, problem.spec.headers):
        return b"%d" % min(max(0, seconds), MAX_DELAY_SECONDS)
    return None


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
