"""Tornado: `problemdetails.install(application, catalog=...)`, and `ProblemDetailsMixin` for handlers.

Tornado answers a handler's exception itself: `_handle_request_exception`
logs it (`log_exception`), then `send_error` clears every header the handler
set and writes `write_error`'s HTML page. Installed, every handler class the
application routes to (the app's own, Tornado's 404 `ErrorHandler`, a
`default_handler_class`) is served as a subclass with `ProblemDetailsMixin`
just above `RequestHandler`, so the app's own overrides still come first:

    handler raises ─► log_exception ─► HandOver.claim / keep  (decided, logged once)
                  └─► send_error    ─► the problem, written over the headers the handler set
    a page the handler wrote (`set_status(404); finish(...)`), or its own `write_error`'s
                  ─► finish         ─► replaced by its status's problem, a 4xx's message kept

A `tornado.web.HTTPError` is its status's problem: its `reason` (the status
line's phrase) is a 4xx's `detail`, its `log_message` is never sent. Tornado's
405 (a method the handler does not implement) gets `Allow`. With Tornado's
`serve_traceback` (`debug=True`), a browser still gets Tornado's traceback page
for a crash; API clients get the problem.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, MutableMapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from tornado import httputil
from tornado.web import HTTPError, OutputTransform, RequestHandler

from problemdetails._context import serving
from problemdetails._decider import HELD_BODY_LIMIT
from problemdetails._exchange import exchange_of
from problemdetails._handovers.base import TextFields, browser, docs_answer, header_fields, text_request
from problemdetails._request import Request
from problemdetails._responder import Answer, is_problem
from problemdetails._transport import Transport

if TYPE_CHECKING:
    from tornado.web import Application

__all__ = ["SETTING", "ProblemDetailsMixin"]

# Where `install` keeps the request layer: in the application's settings, which every handler reads.
SETTING = "problemdetails"


class ProblemDetailsMixin(RequestHandler):
    """Answers every error of a Tornado handler with its problem.

    `problemdetails.install(application, catalog=catalog)` serves every handler
    with it; name it yourself in a handler that overrides `write_error`, to
    leave some errors to it:

    ```python
    class ZoneHandler(ProblemDetailsMixin, RequestHandler):
        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.set_header("X-Zone-Shard", self.shard)  # after Tornado's `send_error` cleared the headers
            super().write_error(status_code, **kwargs)  # the problem
    ```

    A page your `write_error` writes for an error status is replaced by its
    problem, as any error page a handler writes.
    """

    # The request's facts, as an ASGI-like scope, and the installed layer serving it (`_execute`).
    _problemdetails: MutableMapping[str, Any] | None = None
    _problemdetails_layer: Transport | None = None

    def _execute(self, transforms: list[OutputTransform], *args: bytes, **kwargs: bytes) -> Awaitable[None]:  # type: ignore[override]
        # Tornado's own entry for a request (`_HandlerDelegate.execute`): what OpenTelemetry's and Sentry's
        # Tornado integrations hook too. It returns the request's task, started here so that it runs in a
        # copy of this context with the request in it: `current_request_id()` answers in the handler.
        transport = self.settings.get(SETTING)
        if not isinstance(transport, Transport):
            warnings.warn(
                f"{type(self).__name__} uses ProblemDetailsMixin in an application without problem details, "
                "which answers with Tornado's own pages: call problemdetails.install(application, catalog=...)",
                RuntimeWarning,
                stacklevel=1,
            )
            return super()._execute(transforms, *args, **kwargs)
        request = self.request
        native = self._problemdetails = _scope(request)
        self._problemdetails_layer = transport
        sent = request.headers.get_list("X-Request-Id")
        exchange = transport.enter(native, sent[0] if len(sent) == 1 else "")
        self._headers["X-Request-ID"] = exchange.request_id.decode("latin-1")
        if transport.docs is None:
            served = super()._execute(transforms, *args, **kwargs)
        else:
            served = self._docs_or_execute(transport, native, transforms, args, kwargs)
        token = serving.set(native)
        try:
            return asyncio.ensure_future(served)
        finally:
            serving.reset(token)

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None, tb: Any) -> None:
        """Decide the exception's problem, logged once (not also by Tornado's loggers)."""
        native, transport = self._problemdetails, self._problemdetails_layer
        if native is None or transport is None or not _an_error(value):
            super().log_exception(typ, value, tb)
            return
        assert isinstance(value, Exception)
        if self._headers_written:
            # RFC 9110 has no way to take back a status line: `send_error` aborts the connection,
            # and the client sees truncation.
            transport.responder.log_exception(value, "exception after the response started; aborting", self._request())
            return
        if isinstance(value, HTTPError) and value.status_code == 405 and "Allow" not in self._headers:
            self._headers["Allow"] = ", ".join(_allowed(type(self)))
        self._request()
        if transport.handover.claim(native, value) is None:
            transport.handover.keep(native, value)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """The problem for the error, keeping the headers the handler set (Tornado's own clears them all)."""
        native = self._problemdetails
        if native is None or status_code < 400:
            super().send_error(status_code, **kwargs)
            return
        if self._headers_written:
            cast(Any, self.request.connection).close()  # logged in `log_exception`: the client sees truncation
            return
        exchange = exchange_of(native)
        decided = exchange.problem if exchange is not None else None
        if decided is not None:  # Tornado sends 500 for any exception but its own `HTTPError`
            status_code = decided.status
        crash = exchange.kept if exchange is not None else None
        if crash is not None and self.settings.get("serve_traceback") and browser(native):
            # Tornado's debug mode: a person at a browser gets its traceback page.
            assert exchange is not None
            exchange.debugged = crash
            super().send_error(status_code, **kwargs)
        elif type(self).write_error is ProblemDetailsMixin.write_error:
            self.write_error(status_code, **kwargs)
        else:  # the handler's own `write_error` writes its page, which `finish` replaces
            super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write the problem for this error: the one decided for the exception, else the status's.

        A `reason=` given to `send_error` is a 4xx's `detail`.
        """
        native, transport = self._problemdetails, self._problemdetails_layer
        exchange = exchange_of(native)
        if exchange is None or transport is None or exchange.debugged is not None:
            super().write_error(status_code, **kwargs)  # Tornado's page: its traceback, in debug mode
            return
        assert native is not None
        self._request()
        kept = self._kept(transport, _UNREAD_BUT_THE_PAGES)
        reason = kwargs.get("reason")
        body = b""
        if isinstance(reason, str):  # a page of that text, as Tornado's would show it
            body = reason.encode()
            kept.append((b"content-type", b"text/plain; charset=utf-8"))
        self._answer(transport.handover.replaced(native, status_code, kept, body), bool(kept))
        self.finish()

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> asyncio.Future[None]:
        """Finish the response; an error page written for it is replaced by its problem first."""
        native = self._problemdetails
        if native is None:
            return super().finish(chunk)
        if self._status_code >= 400 and not self._headers_written and not self._finished:
            if chunk is not None:
                self.write(chunk)  # Tornado's own encoding of it (a dict is JSON)
                chunk = None
            self._replace_page(native)
        finished = super().finish(chunk)
        transport, exchange = self._problemdetails_layer, exchange_of(native)
        if transport is not None and exchange is not None:
            transport.leave(
                exchange
            )  # done with the request (a handler that never finishes leaves it to the collector)
        return finished

    def clear(self) -> None:
        """Reset the response, but for its `X-Request-ID` (Tornado's `send_error` clears it, with every header)."""
        super().clear()
        native = self._problemdetails
        exchange = exchange_of(native) if native is not None else None  # None: from Tornado's `__init__`
        if exchange is not None:
            self._headers["X-Request-ID"] = exchange.request_id.decode("latin-1")

    def _replace_page(self, native: MutableMapping[str, Any]) -> None:
        """An error page the handler wrote (not the problem answered already), replaced by its problem."""
        transport, exchange, status = self._problemdetails_layer, exchange_of(native), self._status_code
        if transport is None or exchange is None or not transport.rewrite_error_responses:
            return
        answered = exchange.answered
        if (answered is not None and answered[0] == status) or exchange.debugged is not None:
            return
        self._request()
        kept = self._kept(transport, _UNREAD)
        if not is_problem(kept):
            body = b"".join(self._write_buffer)[:HELD_BODY_LIMIT]
            self._answer(transport.handover.replaced(native, status, kept, body), True)

    def _request(self) -> Request:
        """The request's facts for the responder, read from Tornado's parsed headers (`text_request`)."""
        assert self._problemdetails is not None
        return text_request(self._problemdetails, self.request.headers.get_list)

    async def _docs_or_execute(
        self,
        transport: Transport,
        native: MutableMapping[str, Any],
        transforms: list[OutputTransform],
        args: tuple[bytes, ...],
        kwargs: dict[str, bytes],
    ) -> None:
        """A file of the doc site under `docs_path`, else the handler's answer."""
        if not await self._docs(transport, native, transforms):
            await super()._execute(transforms, *args, **kwargs)

    async def _docs(
        self, transport: Transport, native: MutableMapping[str, Any], transforms: list[OutputTransform]
    ) -> bool:
        """Serve a file of the doc site under `docs_path`; False when the request is for none."""
        docs = transport.docs
        path: str = native["path"]
        if docs is None or native["method"] not in ("GET", "HEAD") or not path.startswith(docs.path):
            return False
        if docs.files is None:
            await asyncio.to_thread(docs.render)  # rendering a large catalog takes a while: not on the event loop
        answer = docs_answer(docs, native, path, native["query_string"])
        if answer is None:
            return False
        self._transforms = transforms
        self._answer(answer, True)
        await self.finish()
        return True

    def _kept(self, transport: Transport, unread: frozenset[str]) -> list[tuple[bytes, bytes]]:
        """The headers of the response for the responder to keep (lowercase bytes), but for those `unread`."""
        headers = self._headers
        if unread.issuperset(headers):  # the common case: the handler set none
            return []
        fields = [pair for pair in headers.get_all() if pair[0] not in unread]
        return header_fields(fields, transport.responder.logger)

    def _answer(self, answer: Answer, kept: bool) -> None:
        """Make the response the answer (the cookies set on it stay: Tornado keeps them apart).

        `kept`: the response had headers of the handler's, which the answer
        carries (or dropped): the headers start afresh but for Tornado's own.
        Else the answer's go over Tornado's (its `Content-Type`, the id).
        """
        self.set_status(answer.status)
        headers = self._headers
        if kept:
            headers = httputil.HTTPHeaders()
            for tornados, field in self._headers.get_all():
                if tornados in _TORNADOS:
                    headers[tornados] = field
            self._headers = headers
        # A field the handler sent several times (`Set-Cookie`, `Link`) stays so.
        put = headers.add if kept else headers.__setitem__
        for name, value in answer.headers:
            put(name.decode("latin-1"), value.decode("latin-1"))
        self._write_buffer = [answer.body]  # for HEAD, Tornado sends the headers only


# The headers Tornado itself sets on every response (`clear`): kept as they are, not read as the handler's;
# nor is the id, which the responder sets; nor, for a problem, Tornado's default page's media type.
_TORNADOS = frozenset({"Server", "Date"})
_UNREAD = frozenset({*_TORNADOS, "X-Request-Id"})
_UNREAD_BUT_THE_PAGES = frozenset({*_UNREAD, "Content-Type"})


def _an_error(value: BaseException | None) -> bool:
    """An exception the layer answers: anything but a `HTTPError` below 400 (Tornado sends those as they are)."""
    if not isinstance(value, Exception):
        return False
    return not (isinstance(value, HTTPError) and value.status_code < 400)


def _allowed(handler: type[RequestHandler]) -> list[str]:
    """The methods a handler class implements: `Allow` on Tornado's 405 (RFC 9110 §15.5.6: "MUST generate")."""
    unimplemented = RequestHandler.get  # every method a handler does not define is this one
    return [
        method
        for method in handler.SUPPORTED_METHODS
        if getattr(handler, method.lower(), unimplemented) is not unimplemented
    ]


def _scope(request: httputil.HTTPServerRequest) -> dict[str, Any]:
    """A Tornado request's facts as an ASGI-like scope: what the responder and the `instance=` functions read."""
    path = request.path
    return {
        "type": "http",
        "method": request.method,
        "path": unquote(path) if "%" in path else path,  # decoded, as ASGI's is (`instance` percent-encodes it)
        "query_string": request.query.encode("latin-1", "replace"),
        "headers": TextFields(request.headers.get_all),
    }


_served: dict[type[RequestHandler], type[RequestHandler]] = {}


def served(handler: type[RequestHandler]) -> type[RequestHandler]:
    """The class an installed application serves for `handler`: it, with `ProblemDetailsMixin` above `RequestHandler`.

    Made once per handler class: a subclass, so that the app's own overrides
    (`write_error`, `log_exception`, `on_finish`...) come first and chain to the mixin.
    """
    made = _served.get(handler)
    if made is None:
        if issubclass(handler, ProblemDetailsMixin):
            made = handler
        else:
            namespace = {"__module__": handler.__module__, "__qualname__": handler.__qualname__}
            made = type(handler.__name__, (handler, ProblemDetailsMixin), {**namespace, "__doc__": handler.__doc__})
        _served[handler] = made
    return made


def embed(application: Application, transport: Transport) -> None:
    """Serve every handler of `application` with `ProblemDetailsMixin` (`problemdetails.install`)."""
    if SETTING in application.settings:
        raise RuntimeError(f"problem details are installed in this {type(application).__name__} already")
    application.settings[SETTING] = transport
    delegate = application.get_handler_delegate

    def get_handler_delegate(
        request: httputil.HTTPServerRequest,
        target_class: type[RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> Any:
        return delegate(request, served(target_class), target_kwargs, path_args, path_kwargs)

    application.get_handler_delegate = get_handler_delegate  # type: ignore[method-assign]
