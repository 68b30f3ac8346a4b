"""`ProblemMiddleware`: every error of any ASGI app becomes a problem response.

Pure ASGI and stateless: per-request state lives in locals of `__call__`.
On the happy path the only work is wrapping `send` and adding `X-Request-ID`.

    exception raised before the response started  -> its problem response
    error response the app rendered itself        -> held, replaced by the problem
      (text, empty or {"detail": ...} 4xx/5xx)        for its status
    exception after the response started          -> logged; connection aborted
    exception after the response completed        -> logged (background task)
"""

from __future__ import annotations

import functools
import itertools
import linecache
import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio.to_thread
import msgspec
from starlette.exceptions import HTTPException, WebSocketException
from starlette.requests import ClientDisconnect

from problemdetails._catalog import Catalog
from problemdetails._frameworks import (
    allowed_methods,
    client_detail,
    litestar_error_items,
    problem_for_status,
    root_slugs,
    validation_problem,
)
from problemdetails._grammar import (
    MAX_DELAY_SECONDS,
    delay_seconds,
    field_name,
    field_value,
    is_http_date,
    is_request_id,
    loggable,
)
from problemdetails._member_types import is_uri_reference
from problemdetails._problem import Problem
from problemdetails._profiles import WireProfile
from problemdetails._response import asks_for_problem_json, choose_media_type, json_document, render
from problemdetails._site import read_site, render_site
from problemdetails._types import ASGIApp, Message, Receive, Scope, Send
from problemdetails._wire import encode_wire

__all__ = ["MIDDLEWARE", "OBSERVERS", "RAISED", "REQUEST_ID", "ProblemMiddleware"]

# Where a framework's exception handler leaves the exception it caught, so the
# middleware answers for the exception rather than for the framework's page.
RAISED = "problemdetails.exception"
# Where the middleware leaves itself and the request id (bytes) in the scope: the
# app can log the id, and a framework's exception handler can send the problem
# response straight away (`starlette_exception_handlers`).
MIDDLEWARE = "problemdetails.middleware"
REQUEST_ID = "problemdetails.request_id"
# Test tooling (`pytest -p problemdetails.pytest`) watches every problem response
# the middleware sends: each observer gets (catalog, status, content type, body).
OBSERVERS: list[Callable[[Catalog, int, bytes, bytes], None]] = []

ExceptionMap = Mapping[type[BaseException], "str | Callable[[Any], Problem]"]

# Representation headers describe the body being replaced, so they go; the rest
# (CORS, Allow, WWW-Authenticate, Retry-After, Set-Cookie ...) survive.
_DROPPED = frozenset(
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
    }
)
_PROBLEM_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), (b"vary", b"Accept"))
# A path that is already a valid URI path needs no quoting (the common case).
_is_plain_path = re.compile(r"[A-Za-z0-9/\-._~!$&'()*+,;=:@]*").fullmatch
_SITE_MEDIA_TYPES = {
    "html": b"text/html; charset=utf-8",
    "json": b"application/json",
    "css": b"text/css; charset=utf-8",
    "js": b"text/javascript; charset=utf-8",
    "svg": b"image/svg+xml",
    "png": b"image/png",
    "ico": b"image/x-icon",
    "woff2": b"font/woff2",
}
_HELD_BODY_LIMIT = 64 * 1024  # enough for any {"detail": ...}; the rest is not read


def _is_disconnect(exc: BaseException) -> bool:
    """The client went away: not an application error, and nobody is left to answer."""
    if isinstance(exc, (ConnectionError, ClientDisconnect)):
        return True
    uvicorn = sys.modules.get("uvicorn.protocols.utils")  # its ClientDisconnected is an OSError
    return uvicorn is not None and isinstance(exc, uvicorn.ClientDisconnected)


# Request ids are 128 bits from the operating system's CSPRNG, as 32 lowercase
# hex digits: unguessable, so a client cannot count a worker's traffic, and
# unique across processes and hosts without coordination. They are drawn in
# blocks of 1,024, so a request pays for one `next()` of a C-level iterator
# rather than a system call (the happy path is measured by `make bench`).
_ID_BLOCK = 1024


def _request_id_block() -> list[bytes]:
    digits = os.urandom(16 * _ID_BLOCK).hex().encode()
    return [digits[start : start + 32] for start in range(0, len(digits), 32)]


def _request_id_source() -> Iterator[bytes]:
    # `iter(function, sentinel)`, not a generator: a thread drawing a new block
    # while another asks for an id gets a second block, never "generator already executing".
    return itertools.chain.from_iterable(iter(_request_id_block, None))


_request_ids = _request_id_source()


def _new_id_source() -> None:
    # A forked worker must not hand out the ids left in its parent's block.
    global _request_ids
    _request_ids = _request_id_source()


os.register_at_fork(after_in_child=_new_id_source)


def _new_request_id() -> bytes:
    return next(_request_ids)


def request_path(scope: Scope) -> str:
    """The default `instance`: the request path, percent-encoded, without the query string."""
    path: str = scope.get("path") or "/"
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


def _servable(site: dict[str, bytes]) -> dict[str, bytes]:
    """The site's files a client may fetch: not the marker, nor any other dotfile."""
    return {name: data for name, data in site.items() if not name.startswith(".") and "/." not in name}


def _is_problem(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media in (b"application/problem+json", b"application/problem+xml")
    return False


class _Sent:
    """An awaitable that is already done: what `send` returns for a message held back."""

    __slots__ = ()
    # `await` calls this without `self` (a partial is no descriptor) and gets an
    # empty iterator: done, with no Python frame per held message.
    __await__ = functools.partial(iter, ())


_SENT = _Sent()


class _ProblemHeaders(list[tuple[bytes, bytes]]):
    """The headers of a problem response this middleware built.

    A framework's exception handler sends it through the app, so it comes
    back through `wrapped_send`, which passes it on as it is: it is already
    the final response (an HTML page or a legacy profile's JSON too, which
    would otherwise look like an error page to replace). A middleware that
    copies the list makes it an ordinary list, and then it is inspected.
    """

    __slots__ = ()


class _Held:
    """An error response the app rendered itself, kept back to be replaced."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.headers = headers
        self.body = bytearray()


class ProblemMiddleware:
    """Wrap any ASGI app so that every error it produces is an RFC 9457 problem.

    Put it outermost, so it also sees errors from other middleware:

    ```python
    app = ProblemMiddleware(Starlette(routes=...), catalog=catalog)
    ```

    - A raised `Problem` becomes its response; any other exception becomes the
      catalog's 500 problem (`internal`) with nothing of the exception in it,
      logged at ERROR with the request id. `debug=True` adds a `debug` member.
    - `exception_map` maps your (or a library's) exception classes to a slug
      or to a function returning a problem; it is looked up along the MRO.
    - Starlette/FastAPI `HTTPException`, FastAPI validation errors, router
      404/405 and error responses the app rendered as text or `{"detail": ...}`
      become the catalog's root problem for their status, keeping `Allow`,
      `WWW-Authenticate`, `Retry-After` and other non-representation headers.
    - Every response carries `X-Request-ID` (a valid incoming one, else new).
    - `instance` is the percent-encoded request path (no query string) unless
      the problem sets one; pass `instance=None` to leave it out, or a function
      of the ASGI scope returning a URI reference.
    - `profile=` (a `WireProfile`) keeps an API's legacy error shape for
      clients that don't send `Accept: application/problem+json`: migrate
      to RFC 9457 one client at a time.
    - `docs_path="/errors/"` serves the catalog's doc site there (a page per
      slug, the index, the JSON Schemas), so type URIs whose `base_uri` points
      at the service resolve. It is rendered from `catalog` on first use, or
      read from `docs_dir`, a folder `problemdetails build` wrote.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        catalog: Catalog,
        exception_map: ExceptionMap | None = None,
        debug: bool = False,
        www_authenticate: str = "Bearer",
        rewrite_error_responses: bool = True,
        docs_path: str | None = None,
        docs_dir: str | os.PathLike[str] | None = None,
        profile: WireProfile | None = None,
        instance: Callable[[Scope], str | None] | None = request_path,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self.catalog = catalog
        self.exception_map: dict[type[BaseException], str | Callable[[Any], Problem]] = dict(exception_map or {})
        for target in self.exception_map.values():
            if isinstance(target, str) and target not in catalog:
                raise ValueError(f"exception_map names unknown slug {target!r}")
            if isinstance(target, str) and catalog[target].__required__:
                required = ", ".join(member.name for member in catalog[target].__required__)
                raise ValueError(
                    f"exception_map maps to {target!r}, which requires members ({required}); "
                    "map to a function that builds the problem instead"
                )
        self.debug = debug
        self.www_authenticate = www_authenticate
        challenge = field_value(www_authenticate)
        if challenge is None:
            raise ValueError(f"www_authenticate must be a valid HTTP field value, not {www_authenticate!r}")
        self._www_authenticate = challenge
        self.rewrite_error_responses = rewrite_error_responses
        if docs_path is not None and not (docs_path.startswith("/") and docs_path.endswith("/")):
            raise ValueError(f"docs_path must start and end with '/', not {docs_path!r}")
        self.docs_path = docs_path
        # The site is immutable once built: rendered lazily (once, however many
        # requests ask for it at first), then only read.
        self._site: dict[str, bytes] | None = _servable(read_site(Path(docs_dir))) if docs_dir is not None else None
        self._site_lock = threading.Lock()
        self.profile = profile
        self.instance = instance
        self.logger = logger or logging.getLogger("problemdetails")
        self._roots = root_slugs(catalog)
        # Given a rebased catalog, problems raised from the original's classes (a generated
        # module's) go out with this catalog's type URIs: original type -> rebased type.
        origin = catalog.origin
        self._rebased = {origin.problems[slug].type: catalog[slug] for slug in catalog} if origin else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:  # lifespan and anything newer pass through untouched
                await self.app(scope, receive, send)
            return
        # The happy path is this method alone: keep it lean (`make bench` measures it).
        raw_id = b""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                raw_id = value if is_request_id(value) else b""
                break
        raw_id = raw_id or next(_request_ids)
        scope[MIDDLEWARE], scope[REQUEST_ID] = self, raw_id
        docs = self.docs_path
        if docs is not None and scope["path"].startswith(docs) and await self._docs(scope, send, raw_id):
            return
        # What the response has come to: None before it starts; a `_Held` error
        # response being replaced; else the last message sent, which tells a
        # started response (a start, or a body with `more_body`) from a complete one.
        last: Message | _Held | None = None

        # A plain function returning `send`'s awaitable, not a coroutine function: no
        # extra coroutine per message on the happy path. What it reads is bound as
        # defaults, which is cheaper per request than closure cells.
        def wrapped_send(
            message: Message, send: Send = send, raw_id: bytes = raw_id, rewrite: bool = self.rewrite_error_responses
        ) -> Awaitable[None]:
            nonlocal last
            if last is None:
                if message["type"] == "http.response.start":
                    headers = message.get("headers", ())
                    if message["status"] >= 400:
                        if headers.__class__ is _ProblemHeaders:  # a framework handler sent the problem: it is final
                            last = message
                            return send(message)
                        if rewrite and not _is_problem(headers):
                            last = _Held(message["status"], list(headers))
                            return _SENT
                    for key, _ in headers:  # ASGI header names are lowercase
                        if key == b"x-request-id":
                            break
                    else:
                        # A new message: the app's may be a constant it sends again.
                        message = dict(message)
                        message["headers"] = [*headers, (b"x-request-id", raw_id)]
                    last = message
                return send(message)
            if type(last) is _Held:
                if message["type"] == "http.response.body" and len(last.body) < _HELD_BODY_LIMIT:
                    last.body += message.get("body", b"")[: _HELD_BODY_LIMIT - len(last.body)]
                return _SENT
            last = message
            return send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except Exception as exc:
            await self._failed(exc, scope, receive, send, last, raw_id.decode())
            return
        if last is None or type(last) is _Held:
            await self._unanswered(scope, receive, send, last, raw_id.decode())

    def _respond(self, exc: Exception, scope: Scope) -> ASGIApp:
        """An ASGI app that sends the problem response for `exc`: what a framework's exception handler returns."""
        request_id = scope[REQUEST_ID].decode()
        return functools.partial(self._send_problem, self._problem_for(exc, scope, request_id), request_id, ())

    async def _failed(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send, last: Message | _Held | None, request_id: str
    ) -> None:
        """The app raised: answer with its problem, or abort if the response has started."""
        cause = _unwrap(exc)
        if last is None or isinstance(last, _Held):
            if _is_disconnect(cause):
                self.logger.debug("client disconnected request_id=%s", request_id)
                return
            problem = self._problem_for(cause, scope, request_id)
            await self._send_problem(problem, request_id, last.headers if last else (), scope, receive, send)
        elif last["type"] == "http.response.start" or last.get("more_body"):
            # RFC 9110 has no way to take back a status line: abort, so the
            # client sees a truncated response rather than a wrong one.
            if not _is_disconnect(cause):
                _log_exception(self.logger, exc, "exception after the response started; aborting", scope, request_id)
            raise exc
        else:
            _log_exception(
                self.logger, exc, "exception after the response was sent (background task?)", scope, request_id
            )

    async def _unanswered(
        self, scope: Scope, receive: Receive, send: Send, held: _Held | None, request_id: str
    ) -> None:
        """The app returned without a response of its own: one was held for replacement, or none came."""
        if held is None:
            self.logger.error("the app returned without a response request_id=%s", request_id)
            problem = problem_for_status(self.catalog, self._roots, 500)
            await self._send_problem(problem, request_id, (), scope, receive, send)
            return
        raised = scope.get(RAISED)  # put there by a framework exception handler
        if isinstance(raised, Exception):
            problem = self._problem_for(_unwrap(raised), scope, request_id)
        else:
            try:
                problem = self._from_rendered(held.status, held.headers, held.body)
            except Exception as error:  # the error path never raises: the plain problem for the status
                _log_exception(self.logger, error, "reading the error response failed", scope, request_id)
                problem = problem_for_status(self.catalog, self._roots, held.status)
        await self._send_problem(problem, request_id, held.headers, scope, receive, send)

    async def _docs(self, scope: Scope, send: Send, request_id: bytes) -> bool:
        """Serve a file of the doc site under `docs_path`; False when there is none."""
        assert self.docs_path is not None
        if scope["method"] not in ("GET", "HEAD"):
            return False
        site = self._site
        if site is None:
            # Rendering a large catalog takes a while: not on the event loop.
            site = await anyio.to_thread.run_sync(self._render_site)
        name = scope["path"][len(self.docs_path) :]
        file = name + "index.html" if name[-1:] in ("", "/") else name
        page = site.get(file)
        headers = [(b"x-content-type-options", b"nosniff"), (b"x-request-id", request_id)]
        if page is not None:
            headers += [
                (b"content-type", _SITE_MEDIA_TYPES.get(file.rpartition(".")[2], b"application/octet-stream")),
                (b"content-length", str(len(page)).encode()),
                (b"cache-control", b"public, max-age=300"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else page})
            return True
        if name + "/index.html" in site:
            # `base_uri + slug` has no trailing slash; the page's relative links need one.
            # A relative reference (RFC 9110 §10.2.2), so any mount or root_path is kept.
            query = scope.get("query_string", b"")
            location = quote(name.rpartition("/")[2]).encode() + b"/" + (b"?" + query if query else b"")
            headers += [(b"location", location), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 301, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return True
        return False  # the app may serve it; else it is a 404 problem like any other

    def _render_site(self) -> dict[str, bytes]:
        """The site for `docs_path`, rendered by the first request that needs it; the others wait for it."""
        with self._site_lock:
            if self._site is None:
                self._site = _servable(render_site(self.catalog))
            return self._site

    def _from_rendered(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes | bytearray) -> Problem:
        """The problem for an error response the app rendered itself.

        A 4xx message meant for the client survives as `detail`: FastAPI's
        `{"detail": "..."}`, or the plain text Starlette renders an
        `HTTPException` as. Never a 5xx body, and never HTML.
        """
        media = next((value for key, value in headers if key.lower() == b"content-type"), b"")
        document: object = None
        if media.startswith(b"text/plain"):
            detail: object = bytes(body).decode("utf-8", "replace") if len(body) < _HELD_BODY_LIMIT else None
        else:
            document = json_document(bytes(body))
            detail = document.get("detail") if isinstance(document, dict) else None
        if status == 422 and isinstance(detail, list) and all(isinstance(item, dict) for item in detail):
            return validation_problem(self.catalog, self._roots, detail)  # FastAPI
        errors = litestar_error_items(document.get("extra")) if isinstance(document, dict) else None
        return problem_for_status(self.catalog, self._roots, status, client_detail(status, detail), errors)

    def _problem_for(self, exc: Exception, scope: Scope, request_id: str) -> Problem:
        """The problem for an exception, logged as its status deserves.

        Never raises: when mapping the exception fails (a buggy `exception_map`
        function, an exception whose `__str__` raises under `debug=True`), the
        answer is the plain 500 problem, and the failure is logged too.
        """
        try:
            problem = exc if isinstance(exc, Problem) else self._translate(exc)
        except Exception as error:
            _log_exception(self.logger, error, "mapping an exception to its problem failed", scope, request_id)
            problem = None
        if problem is None:
            problem = problem_for_status(self.catalog, self._roots, 500)
            _log_exception(self.logger, exc, f"unhandled {type(exc).__name__}", scope, request_id)
            if self.debug:
                problem.extensions["debug"] = _debug_member(exc)
        else:
            # Catalogued problems never pay for traceback formatting.
            level = logging.ERROR if problem.status >= 500 else logging.INFO
            if self.logger.isEnabledFor(level):
                name = problem.code or problem.type
                self.logger.log(
                    level, "%s %s: %s request_id=%s", problem.status, loggable(name), _where(scope), request_id
                )
        return problem

    def _translate(self, exc: Exception) -> Problem | None:
        # Most services map nothing: a framework error then skips the walk up the MRO.
        mro = type(exc).__mro__ if self.exception_map else ()
        for cls in mro:
            target = self.exception_map.get(cls)
            if target is None:
                continue
            if isinstance(target, str):
                return self.catalog[target]()
            try:
                produced = target(exc)
            except Exception:
                self.logger.exception("exception_map function for %s failed", cls.__name__)
                return None
            return produced if isinstance(produced, Problem) else None
        if isinstance(exc, HTTPException):
            problem = problem_for_status(
                self.catalog, self._roots, exc.status_code, client_detail(exc.status_code, exc.detail)
            )
            problem.headers.update(exc.headers or {})
            return problem
        # Only a loaded framework can have raised its own errors: no imports otherwise.
        fastapi = sys.modules.get("fastapi.exceptions")
        if fastapi is not None and isinstance(exc, fastapi.RequestValidationError):
            return validation_problem(self.catalog, self._roots, list(exc.errors()))
        litestar = sys.modules.get("litestar.exceptions")
        if litestar is not None and isinstance(exc, litestar.HTTPException):
            status = exc.status_code
            errors = litestar_error_items(exc.extra)
            problem = problem_for_status(self.catalog, self._roots, status, client_detail(status, exc.detail), errors)
            problem.headers.update(exc.headers or {})
            return problem
        return None

    async def _send_problem(
        self,
        problem: Problem,
        request_id: str,
        kept: Sequence[tuple[bytes, bytes]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Send `problem` as the response; an ASGI app once the first three are given (see `_respond`)."""
        status, headers, body = self._answer(problem, request_id, kept, scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        # HEAD: the same status and headers (Content-Length included), no body.
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    def _answer(
        self, problem: Problem, request_id: str, kept: Sequence[tuple[bytes, bytes]], scope: Scope
    ) -> tuple[int, _ProblemHeaders, bytes]:
        """`_response`, which never fails: what cannot be built is answered with the plain 500 problem.

        A response may fail to build for reasons of the problem's own (an
        extension member msgspec cannot encode, a profile that raises); the
        catalog's 500 problem as problem+json, with no instance and no extra
        headers, always builds.
        """
        try:
            answer = self._response(problem, request_id, kept, scope)
        except Exception as error:
            _log_exception(self.logger, error, "building the problem response failed", scope, request_id)
            fallback = problem_for_status(self.catalog, self._roots, 500)
            body = encode_wire(msgspec.structs.replace(fallback._wire, request_id=request_id))
            headers = [(b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(body))]
            answer = 500, _ProblemHeaders([*headers, *_PROBLEM_HEADERS, (b"x-request-id", request_id.encode())]), body
        for observer in OBSERVERS:
            observer(self.catalog, answer[0], answer[1][0][1], answer[2])
        return answer

    def _response(
        self, problem: Problem, request_id: str, kept: Sequence[tuple[bytes, bytes]], scope: Scope
    ) -> tuple[int, _ProblemHeaders, bytes]:
        """The status, headers and body that answer with `problem`: the decision, with no I/O in it."""
        if self._rebased and problem._wire.type in self._rebased:
            problem = problem._rebound(self._rebased[problem._wire.type])
        instance = problem._wire.instance
        if instance is not None:
            instance = _same_origin(instance)
        elif self.instance is request_path:  # the default: a URI reference by construction
            instance = request_path(scope) if scope else None
        elif self.instance is not None and scope:
            instance = self._instance(scope, request_id)
        accept = b""
        for key, value in scope.get("headers", ()):
            if key == b"accept":
                accept = value
                break
        kind = choose_media_type(accept)
        if self.profile is not None and kind == "json" and not asks_for_problem_json(accept):
            # A legacy client: it keeps the shape it knows (see `WireProfile`).
            problem = problem._occurrence(instance=instance, request_id=request_id)
            body, media_type = self.profile.encode(problem), self.profile.media_type.encode()
        elif kind == "json" and not problem.extensions:  # the common case: encode the wire Struct directly
            body = encode_wire(msgspec.structs.replace(problem._wire, instance=instance, request_id=request_id))
            media_type = b"application/problem+json"
        else:
            problem = problem._occurrence(instance=instance, request_id=request_id)
            body, media_type = render(problem, kind, language=self.catalog.language)
        headers = _ProblemHeaders(
            [
                (b"content-type", media_type),
                (b"content-length", b"%d" % len(body)),
                *_PROBLEM_HEADERS,
                (b"x-request-id", request_id.encode()),
            ]
        )
        if kept or problem.headers or problem.__sets_headers__:
            headers += self._extra_headers(scope, problem, kept).items()
        return problem.status, headers, body

    def _instance(self, scope: Scope, request_id: str) -> str | None:
        """The `instance` function's answer; a function that fails or answers no URI reference gives none."""
        assert self.instance is not None
        try:
            instance = self.instance(scope)
            if instance is None or (isinstance(instance, str) and is_uri_reference(instance)):
                return None if instance is None else _same_origin(instance)
            self.logger.error(
                "the instance function returned %s, which is not a URI reference", type(instance).__name__
            )
        except Exception as error:
            _log_exception(self.logger, error, "the instance function failed", scope, request_id)
        return None

    def _extra_headers(self, scope: Scope, problem: Problem, kept: Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
        """The headers a problem response carries beyond its own: kept from the app, the problem's, and the RFCs'.

        The middleware owns framing and the headers it pins (`Content-Length`,
        `Transfer-Encoding`, `Content-Type`, `X-Request-ID`...): a second one
        from the app or the problem is dropped, never sent (two lengths, or a
        length and chunked, is request smuggling behind a proxy). So is any
        header whose name is no token or whose value holds a control character.
        """
        headers: dict[bytes, bytes] = {}
        for key, value in [*kept, *problem.headers.items()]:
            if isinstance(key, bytes) and key.lower() in _DROPPED:
                continue  # most of what an error page the app rendered carries: no need to check it
            name, field = field_name(key), field_value(value)
            if name is None or field is None:  # RFC 9110 §5.5: no header injection
                shown = repr(key) if isinstance(key, (str, bytes)) else f"of type {type(key).__name__}"
                self.logger.warning("dropped header %s: not a valid HTTP field", loggable(shown))
            elif name not in _DROPPED:
                headers[name] = field
        if problem.status == 405 and (methods := allowed_methods(self.app, scope)):
            allow = field_value(", ".join(methods))
            if allow is not None:
                headers[b"allow"] = allow
        if problem.status == 401 and b"www-authenticate" not in headers:
            # RFC 9110 §15.5.2: a 401 "MUST send a WWW-Authenticate header field".
            headers[b"www-authenticate"] = self._www_authenticate
        retry_after = _retry_after(problem, headers.pop(b"retry-after", None))
        if retry_after is not None:
            headers[b"retry-after"] = retry_after
        return headers

    # -- WebSocket ----------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = "connecting"  # connecting -> accepted -> closed

        async def wrapped_send(message: Message) -> None:
            nonlocal state
            if message["type"] == "websocket.accept":
                state = "accepted"
            elif message["type"] in ("websocket.close", "websocket.http.response.start"):
                state = "closed"
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        except Exception as exc:
            cause = _unwrap(exc)
            if state == "closed" or _is_disconnect(cause):
                self.logger.info("websocket exception after close: %s", type(cause).__name__)
                return
            if isinstance(cause, WebSocketException):  # the app chose its close code
                await send({"type": "websocket.close", "code": cause.code, "reason": cause.reason or ""})
                return
            request_id = next(
                (value for key, value in scope.get("headers", ()) if key == b"x-request-id" and is_request_id(value)),
                None,
            )
            request_id = (request_id or _new_request_id()).decode()
            problem = self._problem_for(cause, scope, request_id)
            if state == "connecting" and "websocket.http.response" in scope.get("extensions", {}):
                # The ASGI denial extension: a real HTTP response, with every header a problem response has.
                status, headers, body = self._answer(problem, request_id, (), scope)
                await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
                await send({"type": "websocket.http.response.body", "body": body})
                return
            # The ScaiDrive API's convention: close code 4000 + status (4401, 4403,
            # 4429), the slug as reason (at most 123 bytes, RFC 6455 §5.5).
            reason = (problem.code or "").encode()[:123].decode(errors="ignore")
            await send({"type": "websocket.close", "code": 4000 + problem.status, "reason": reason})


if sys.version_info >= (3, 11):
    _EXCEPTION_GROUPS: tuple[type[BaseException], ...] = (BaseExceptionGroup,)  # noqa: F821
else:  # pragma: no cover - anyio brings the backport on Python 3.10
    from exceptiongroup import BaseExceptionGroup as _BackportGroup

    _EXCEPTION_GROUPS = (_BackportGroup,)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, _EXCEPTION_GROUPS):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]  # type: ignore[attr-defined]
    return [exc]


def _unwrap(exc: Exception) -> Exception:
    """The exception an exception group stands for, or the group itself.

    `asyncio.TaskGroup` and anyio task groups (Starlette's streaming and
    background work) wrap what a task raised in an exception group. A group
    stands for its one exception: a problem, a mapped exception, or a client
    disconnect (when every exception in it is one). Several problems of one
    type stand for the first of them. Anything else (different problems,
    or a problem beside a crash) has no single answer: the group is an
    unhandled exception, a 500 logged with every exception in it.
    """
    if not isinstance(exc, _EXCEPTION_GROUPS):
        return exc
    leaves = _leaves(exc)
    if all(_is_disconnect(leaf) for leaf in leaves):
        return leaves[0]  # type: ignore[return-value]  # a disconnect is an Exception
    leaves = [leaf for leaf in leaves if not _is_disconnect(leaf)]
    first = leaves[0]
    if not isinstance(first, Exception):
        return exc
    if len(leaves) == 1:
        return first
    if isinstance(first, Problem) and all(type(leaf) is type(first) and leaf.type == first.type for leaf in leaves):
        return first
    return exc


def _where(scope: Scope) -> str:
    """The request as logged: method and path, control characters escaped (no forged log lines)."""
    return f"{loggable(str(scope.get('method', 'WEBSOCKET')))} {loggable(str(scope.get('path', '')))}"


def _log_exception(logger: logging.Logger, exc: BaseException, message: str, scope: Scope, request_id: str) -> None:
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
    filename, line, function, _ = logger.findCaller(stacklevel=2)  # the middleware method that logs
    exc_info = (type(exc), exc, exc.__traceback__)
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        filename,
        line,
        "%s: %s request_id=%s",
        (message, _where(scope), request_id),
        exc_info,
        function,
    )
    record.exc_text = _traceback_text(exc)
    logger.handle(record)


def _traceback_text(exc: BaseException) -> str:
    """`traceback.format_exception` as Python printed it before 3.11: frames and source lines, no carets."""
    if isinstance(exc, _EXCEPTION_GROUPS):  # nested groups: leave them to the full formatter
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
