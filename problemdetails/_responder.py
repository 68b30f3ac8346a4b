"""The responder: what answers an error, decided with no I/O.

The transports (`ProblemMiddleware` for ASGI, `WSGIProblemMiddleware` for WSGI)
and the framework hand-overs (`_handovers/`) only carry bytes and exceptions to
it. The decider (`_decider.py`, its base class) decides which problem answers
each error; the responder answers with it: status, headers and body, in the
negotiated representation. One call per transport event:

    exception before the response started ─► raised()     ─┐
    error page the app rendered            ─► rendered()   ─┼─► respond() ─► Answer(status, headers, body)
    no response at all                     ─► unanswered() ─┘

Nothing in here raises on the error path: what cannot be built is answered
with the catalog's plain 500 problem, and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from problemdetails._catalog import Catalog
from problemdetails._decider import Decider, ExceptionMap, FrameworkErrors, problem_for_status
from problemdetails._grammar import field_name, field_value, loggable
from problemdetails._member_types import is_uri_reference
from problemdetails._problem import Problem
from problemdetails._profiles import WireProfile
from problemdetails._request import Request, request_path, same_origin
from problemdetails._response import asks_for_problem_json, choose_language, choose_media_type, render
from problemdetails._wire import encode_wire, retry_after_field

if TYPE_CHECKING:
    from google.rpc.status_pb2 import Status

__all__ = [
    "DROPPED",
    "OBSERVERS",
    "PROBLEM_HEADERS",
    "Answer",
    "Responder",
    "is_problem",
    "merged_vary",
    "with_answer",
]

# Test tooling (`pytest -p problemdetails.pytest`) watches every problem response
# a middleware sends: each observer gets (catalog, status, content type, body).
OBSERVERS: list[Callable[[Catalog, int, bytes, bytes], None]] = []

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
# The same for a catalog with translations, whose problems are in the language the request asks for.
_TRANSLATED_HEADERS = (*PROBLEM_HEADERS[:2], (b"vary", b"Accept, Accept-Language"))
_ENCODING = frozenset({b"accept-encoding"})


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


class Answer(NamedTuple):
    """A problem response: what to send, as `Responder.answer` gives it (header names lowercase bytes)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def media_type(self) -> str:
        """The body's media type (`Content-Type`, always the first header): what a framework's response takes."""
        return self.headers[0][1].decode("latin-1")


class Responder(Decider):
    """Answers every error with its problem response, with no I/O: what every middleware and hand-over asks.

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
        super().__init__(catalog, exception_map=exception_map, debug=debug, logger=logger, frameworks=frameworks)
        challenge = field_value(www_authenticate)
        if challenge is None:
            raise ValueError(f"www_authenticate must be a valid HTTP field value, not {www_authenticate!r}")
        self.www_authenticate = challenge
        self.profile = profile
        self.instance = instance
        self.enrich = enrich
        # Every method the wrapped app accepts at a path, for `Allow` on a 405: set by
        # the hand-over of a framework whose routes can be read (Starlette, FastAPI).
        self.allowed_methods: Callable[[Request], list[str] | None] | None = None
        # Given a rebased catalog, problems raised from the original's classes (a generated
        # module's) go out with this catalog's type URIs: original type -> rebased type.
        origin = catalog.origin
        self._rebased = {origin.problems[slug].type: catalog[slug] for slug in catalog} if origin else {}
        # A catalog with translations answers in the language the request asks for, and says so:
        # RFC 9110 §12.5.5, the representation varies on `Accept-Language` too.
        self._language = catalog.language  # the default
        self._translated = len(catalog.languages) > 1
        # The headers each language's problem responses pin (`Content-Language`, RFC 9110 §8.5, when there are
        # translations; a catalog without sends neither it nor `Accept-Language` in `Vary`).
        self._pinned: dict[str, tuple[tuple[bytes, bytes], ...]] = (
            {
                language: (*_TRANSLATED_HEADERS, (b"content-language", language.encode()))
                for language in catalog.languages
            }
            if self._translated
            else {self._language: PROBLEM_HEADERS}
        )
        self._vary = self._pinned[self._language][2][1]

    # -- one call per transport event ------------------------------------------------

    def raised(self, exc: Exception, request: Request, kept: Sequence[tuple[bytes, bytes]] = ()) -> Answer:
        """The answer to an exception raised before the response started (`kept`: the held page's headers)."""
        return self.respond(self.for_raised(exc, request), request, kept)

    def rendered(self, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes, request: Request) -> Answer:
        """The answer that replaces an error page the app rendered, keeping its headers but for representation."""
        return self.respond(self.for_page(status, headers, body, request), request, headers)

    def unanswered(self, request: Request) -> Answer:
        """The answer for an app that returned without sending a response."""
        return self.respond(self.for_no_response(request), request)

    def answer(self, exc: BaseException, request: Request) -> Answer:
        """The response that answers `exc` in `request`: decided, logged, counted and traced, as every middleware's.

        For a stack this library does not ship (Tornado, gRPC gateways, a server of
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
        status, headers, body = self.raised(self.unwrap(exc), request)
        return Answer(status, headers, b"" if request.method == "HEAD" else body)

    def rpc_status(self, exc: BaseException, request: Request) -> Status:
        """The `google.rpc.Status` that ends a gRPC call whose handler raised `exc`: decided, logged, counted
        and traced as every HTTP answer is.

        What `problemdetails.grpc`'s interceptors ask; for a gRPC server they do
        not fit (grpclib, a gateway of your own), describe the call as a
        `Request` (its full method name as the path, its metadata as headers)
        and end it with the status you get. Its code is the problem's gRPC code,
        its message the problem's `detail` (else its title), in the catalog's
        default language; its details are Google's rich error details (AIP-193):
        `ErrorInfo`, `Help`, `RequestInfo`, `RetryInfo`, `BadRequest`. Never
        raises (but without googleapis-common-protos, `pip install 'problemdetails[grpc]'`).

        ```python
        request = problemdetails.Request("POST", "/zones.v1.Zones/GetZone", metadata)
        status = responder.rpc_status(exc, request)
        await context.abort_with_status(grpc_status.rpc_status.to_status(status))
        ```
        """
        from problemdetails._grpc_status import status_of

        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit...: not the error path's
            raise exc
        request.native["type"] = "grpc"  # counted and traced with its gRPC code (`Decider.decide`)
        problem = self.for_raised(self.unwrap(exc), request)
        try:
            problem = self._rebound(problem)
            if self.enrich is not None:
                problem = self._enriched(problem._occurrence(instance=None, request_id=request.request_id), request)
            return status_of(problem, self.catalog, request.request_id)
        except Exception as error:  # a member msgspec cannot encode: the catalog's 500 problem, as `respond`
            self.log_exception(error, "building the gRPC status failed", request)
            return status_of(problem_for_status(self.catalog, 500), self.catalog, request.request_id)

    def _rebound(self, problem: Problem) -> Problem:
        """`problem` as this catalog's class when it was raised from the original of a rebased catalog."""
        if self._rebased and problem._wire.type in self._rebased:
            return problem._rebound(self._rebased[problem._wire.type])
        return problem

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
            answer = Answer(500, [*headers, *self._pinned[self._language], request_id], body)
        for observer in OBSERVERS:
            observer(self.catalog, answer[0], answer[1][0][1], answer[2])
        return answer

    def _response(self, problem: Problem, request: Request, kept: Sequence[tuple[bytes, bytes]]) -> Answer:
        problem = self._rebound(problem)
        instance = problem._wire.instance
        if instance is not None:
            instance = same_origin(instance)
        elif self.instance is request_path:  # the default: a URI reference by construction
            instance = request_path(request.native)
        elif self.instance is not None:
            instance = self._instance(request)
        accept = request.accept
        kind = choose_media_type(accept)
        request_id, trace_id = request.request_id, request.trace_id
        language = self._language
        if self._translated:  # the language the request asks for
            language = choose_language(request.accept_language, self.catalog.languages)
            problem = self.catalog.localized(problem, language)
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
            body, media_type = render(problem, kind, language=language)
        headers = [
            (b"content-type", media_type),
            (b"content-length", b"%d" % len(body)),
            *self._pinned[language],
            (b"x-request-id", request_id.encode()),
        ]
        if kept or problem.headers or problem.__problemdetails__.sets_headers:
            extra, vary = self._extra_headers(request, problem, kept, self._vary)
            if vary is not None:
                headers = [(name, vary if name == b"vary" else value) for name, value in headers]
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
                return None if instance is None else same_origin(instance)
            self.logger.error(
                "the instance function returned %s, which is not a URI reference", type(instance).__name__
            )
        except Exception as error:
            self.log_exception(error, "the instance function failed", request)
        return None

    def _extra_headers(
        self, request: Request, problem: Problem, kept: Sequence[tuple[bytes, bytes]], vary: bytes
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """The headers a problem response carries beyond its own (kept from the app, the problem's, the RFCs'),
        and its `Vary` when what it keeps varies on more than the response's own `vary`.

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
        retry_after = retry_after_field(problem, headers.pop(b"retry-after", [None])[-1])
        if retry_after is not None:
            headers[b"retry-after"] = [retry_after]
        extra = [(name, value) for name, values in headers.items() for value in values]
        # The replaced page's `Accept-Encoding` went with its encoded body: this one is not encoded.
        return extra, merged_vary([vary, *varies], _ENCODING) if varies else None
