"""What every framework hand-over shares: the hand-over object, and the shape of a framework.

A framework answers most exceptions itself, with its own error page, before a
middleware outside it sees anything. Its hand-over, installed by the middleware
at construction, hooks into the framework's error handling (its handler
registry, error hook or got-request-exception signal) and hands each exception
over through `HandOver`, the one object a middleware puts in every scope or
environ it serves (under `HANDOVER`):

    view raises ─► framework's error hook ─► HandOver.claim / keep ─► middleware answers

- An answer (a raised problem, a mapped exception, a framework HTTP error)
  is *claimed*: the hook answers with the problem's response (or an empty
  one of its status, which the middleware replaces). The framework's crash
  reporting (its 500 logging, Sentry's integrations) never sees it.
- A crash (any other exception) goes the framework's crash path (logged,
  reported once), and its crash hook *keeps* the exception, so the middleware
  answers for it rather than for the framework's 500 page.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, MutableMapping
from typing import Any, ClassVar

from problemdetails._catalog import Catalog
from problemdetails._problem import Problem
from problemdetails._responder import ANSWERED, DECIDED, HANDOVER, Responder, request_of, unwrap

__all__ = ["Framework", "HandOver", "handover_of", "status_of", "watched", "watched_async"]


class HandOver:
    """The one object through which a framework's error hooks reach the middleware serving the request.

    `respond` (ASGI only) makes the ASGI app that sends the problem response
    for an exception at once: what a Starlette exception handler returns, so
    the response still passes through the app's own middleware (CORS ...).
    """

    __slots__ = ("integrated", "respond", "responder")

    def __init__(self, responder: Responder, respond: Callable[[Exception, Any], Any] | None = None) -> None:
        self.responder: Responder = responder
        self.respond: Callable[[Exception, Any], Any] | None = respond
        # The middleware installed its framework's hooks (not `integrate=False`): hooks
        # that are process-wide, such as Django's signal, act only for such a middleware.
        self.integrated: bool = False

    def claim(self, native: MutableMapping[str, Any], exc: Exception) -> Problem | None:
        """The problem `exc` stands for, decided for the middleware; None for a crash.

        `native` is the request's ASGI scope or WSGI environ. A hook that gets a
        problem answers with its `response()`, or with an empty response of its
        status that the middleware replaces; one that gets None lets the
        framework's crash path run, and that path's hook calls `keep`.
        """
        try:
            translation = (exc, False) if isinstance(exc, Problem) else self.responder.translation(exc)
        except Exception:  # a framework's reading of its own error failed: the crash path logs it
            return None
        if translation[0] is None:
            return None
        return self._decide(native, exc, translation)

    def keep(self, native: MutableMapping[str, Any], exc: BaseException) -> None:
        """Decide the problem for a crash the framework caught, which the middleware answers with.

        It is decided and logged here, in the framework's own context (its
        thread, its Sentry scope), so that the crash is reported once.
        """
        if isinstance(exc, Exception) and DECIDED not in native:
            self._decide(native, unwrap(exc))

    def response(self, native: MutableMapping[str, Any], problem: Problem) -> tuple[int, str, bytes]:
        """The status, media type and body of `problem`'s response, for a hook to answer with at once.

        The framework then sends the problem itself, through its own response
        machinery and middleware, with no more headers than it needs to; the
        middleware outside gives that response the rest of the answer's headers
        (`ANSWERED`) on its way out. No empty page to build, hold and replace.
        """
        request = request_of(native)
        status, headers, body = self.responder.respond(problem, request)
        if request.method == "HEAD":
            # RFC 9110 §9.3.2: "The server SHOULD send the same header fields in response to a HEAD request
            # as it would have sent if the request method had been GET" (Content-Length included, pinned in
            # the answer's headers), and no content: some frameworks send what they are given (Quart).
            body = b""
        native[ANSWERED] = status, headers
        return status, headers[0][1].decode("latin-1"), body

    def _decide(
        self, native: MutableMapping[str, Any], exc: Exception, translation: tuple[Problem | None, bool] | None = None
    ) -> Problem:
        problem = self.responder.problem_for(exc, request_of(native), translation)
        native[DECIDED] = problem
        return problem


def watched(chunks: Iterable[bytes], failed: Callable[[Exception], None]) -> Iterator[bytes]:
    """`chunks`, a failure after the response started handed to `failed` (to log it) before it reaches the server.

    RFC 9110 has no way to take back a status line: the server aborts the
    connection and the client sees truncation; the operator sees the log.
    """
    try:
        yield from chunks
    except Exception as exc:
        failed(exc)
        raise


async def watched_async(chunks: AsyncIterable[bytes], failed: Callable[[Exception], None]) -> AsyncIterator[bytes]:
    """`watched`, for an async body stream."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        failed(exc)
        raise


def handover_of(native: MutableMapping[str, Any] | None) -> HandOver | None:
    """The hand-over of the middleware serving this request, or None when no middleware is outside."""
    found = native.get(HANDOVER) if native is not None else None
    return found if isinstance(found, HandOver) else None


def status_of(exc: BaseException, default: int = 500) -> int:
    """The HTTP status an exception carries (`status`, `status_code` or `code`), if it is one."""
    for name in ("status", "status_code", "code"):
        status = getattr(exc, name, None)
        if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
            return status
    return default


class Framework:
    """One framework's hand-over: how to recognise its app, hook it up, and read its errors as problems."""

    module: ClassVar[str]  # its top-level package: nothing here runs unless that is imported
    apps: ClassVar[frozenset[str]]  # its application classes, as "module.QualName"

    def owns(self, app: object) -> bool:
        """`app` is this framework's application object (or a subclass's)."""
        return any(f"{cls.__module__}.{cls.__qualname__}" in self.apps for cls in type(app).__mro__)

    def install(self, app: Any, handover: HandOver) -> None:
        """Hook `app`'s error handling up to `handover` (called once, when a middleware wraps it)."""

    def embed(self, app: Any, options: dict[str, Any]) -> None:
        """Put a middleware with `options` where this framework keeps its own (`problemdetails.install`)."""
        raise TypeError(
            f"problemdetails.install() does not install into {type(app).__qualname__} yet: wrap it with "
            "ProblemMiddleware (ASGI) or WSGIProblemMiddleware (WSGI)"
        )

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """The problem for one of this framework's own exceptions (an HTTP error, a validation error), else None."""
        return None
