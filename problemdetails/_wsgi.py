"""`WSGIProblemMiddleware`: every error of any WSGI app becomes a problem response.

The WSGI transport of the responder (`_responder.py`), with the same options
and behaviour as `ProblemMiddleware`, following PEP 3333 to the letter:

    exception before any body byte was sent  -> its problem response
      (`start_response(..., exc_info)` replaces a status not yet sent)
    error response the app rendered itself   -> held, replaced by the problem
    exception after the body started         -> logged and re-raised: the server
                                                aborts, the client sees truncation
    the app's iterable                       -> its `close()` is always called
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from problemdetails import _request_id, _telemetry
from problemdetails._context import serving
from problemdetails._decider import HELD_BODY_LIMIT
from problemdetails._exchange import EXCHANGE, Exchange
from problemdetails._grammar import is_request_id_text
from problemdetails._request import request_of
from problemdetails._responder import Answer, is_problem, with_answer
from problemdetails._status import status_phrase
from problemdetails._transport import Transport
from problemdetails._types import Environ, ExcInfo, StartResponse

__all__ = ["WSGIProblemMiddleware"]


def _close(iterable: object) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()  # PEP 3333: "the server or gateway must call the close() method"


class _Relay:
    """One request: the status the app started (passed on, or held for replacement), and its body passed on.

    It is also what the server gets back on the happy path: it iterates the
    app's iterable chunk by chunk, and its `close()` is the app's.
    """

    # Defaults on the class: a request sets only what happens to it (`make bench` measures this path).
    started = False  # the app called start_response
    passed = False  # a status went to the server's start_response
    exc_info: ExcInfo | None = None
    held: tuple[int, list[tuple[bytes, bytes]], bytearray] | None = None  # its headers as the responder's
    iterable: Iterable[bytes] = ()
    chunks: Iterator[bytes] | None = None  # the rest of `iterable`, when its first chunk was read already
    sent = False  # a body byte went to the server: its status line is out
    write: Callable[[bytes], object] | None = None  # the server's, once the app has it

    def __init__(
        self,
        middleware: WSGIProblemMiddleware,
        environ: Environ,
        start: StartResponse,
        exchange: Exchange,
        request_id: str,
    ) -> None:
        self.middleware = middleware
        self.environ = environ
        self.start = start
        self.exchange = exchange
        self.request_id = request_id

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        """The `start_response` the app gets: error pages are held back, the rest go to the server."""
        self.started = True
        if exc_info is not None:
            self.exc_info = exc_info
        # PEP 3333's status is three digits and a phrase: as a string it compares as its number.
        if status >= "400" and (answered := self.exchange.answered) is not None and status[:3] == str(answered[0]):
            # A hook's problem response: the answer's headers, then the framework's others (`with_answer`).
            headers = _text(with_answer(answered, _encoded(headers)))
            self.held, self.passed = None, True
            write = self.start(status, headers, exc_info) if exc_info is not None else self.start(status, headers)
            _telemetry.relabel(self.environ, answered[0])
            return write
        if status >= "400" and self.middleware.rewrite_error_responses:
            # One header vocabulary: the responder's (lowercase names, latin-1 bytes), as under ASGI.
            encoded = _encoded(headers)
            if not is_problem(encoded):
                if exc_info is not None and self.passed:
                    # PEP 3333: "if exc_info is provided, and the HTTP headers have already
                    # been sent, start_response must raise": only the server knows whether they were.
                    self.start(status, headers, exc_info)
                self.held = (int(status[:3]), encoded, bytearray())
                return self._hold
        self.held = None
        for key, _ in headers:
            if key[:1] in "Xx" and key.lower() == "x-request-id":  # `lower()` only for a likely name
                break
        else:
            headers = [*headers, ("X-Request-ID", self.request_id)]
        self.passed = True
        self.write = self.start(status, headers, exc_info) if exc_info is not None else self.start(status, headers)
        return self.write

    def _hold(self, data: bytes) -> None:
        """The `write()` of a held error page: its body is read (up to a bound) to be replaced."""
        assert self.held is not None
        body = self.held[2]
        if len(body) < HELD_BODY_LIMIT:
            body += data[: HELD_BODY_LIMIT - len(body)]

    def answered(self, answer: Answer, exc_info: ExcInfo | None) -> list[bytes]:
        """Start the responder's answer (replacing a status the server has, PEP 3333's way), and its body."""
        status, headers, body = answer
        if exc_info is None and self.passed:
            exc_info = self.exc_info  # the app's own, given when it started the error page held here
        pairs = _text(headers)
        self.start(f"{status} {status_phrase(status)}", pairs, exc_info)
        _telemetry.relabel(self.environ, status)
        # HEAD: the same status and headers (Content-Length included), no body.
        return [b""] if self.environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def server(self) -> tuple[object, ...]:
        """The callables through which the server signals that the client went away (see `is_disconnect`).

        The `write` it gave the app; reading `wsgi.input` when the client hung up mid-body.
        """
        body = self.environ.get("wsgi.input")
        reads = tuple(getattr(body, name, None) for name in ("read", "readline", "readlines"))
        return (self.write, *reads)

    def failed(self, exc: Exception) -> list[bytes]:
        """The app raised before any body byte went out: answer with its problem."""
        if exc is self.exchange.debugged:  # the framework's debugger answers it, outside every layer
            raise exc
        server = self.server()
        responder = self.middleware.responder
        cause = responder.unwrap(exc, server)
        request = request_of(self.environ, self.request_id)
        if responder.is_disconnect(cause, server):
            responder.logger.debug("client disconnected request_id=%s", self.request_id)
            raise exc
        kept = self.held[1] if self.held is not None else []
        # Only a status the server has may need replacing (some servers raise on any exc_info).
        exc_info = (type(exc), exc, exc.__traceback__) if self.passed else None
        return self.answered(responder.raised(cause, request, kept), exc_info)

    def __iter__(self) -> Iterator[bytes]:
        sent = self.sent
        try:
            for chunk in self.chunks or self.iterable:
                if chunk:
                    sent = True
                yield chunk
        except Exception as exc:
            if not sent:  # the status line is not out yet: the problem replaces it
                yield from self.failed(exc)
                return
            server = self.server()
            responder = self.middleware.responder
            if not responder.is_disconnect(responder.unwrap(exc, server), server):
                # RFC 9110 has no way to take back a status line: re-raised, the server aborts the connection.
                request = request_of(self.environ, self.request_id)
                responder.log_exception(exc, "exception after the response started; aborting", request)
            raise

    def close(self) -> None:
        _close(self.iterable)  # the server's call, on the happy path

    def close_answered(self, iterable: Iterable[bytes]) -> None:
        """Close an app iterable the middleware answers in place of; a `close()` that fails is logged, not raised.

        PEP 3333: "the server or gateway must call the close() method": here the
        middleware is the one that must, and the problem response still goes out.
        """
        try:
            _close(iterable)
        except Exception as error:
            request = request_of(self.environ, self.request_id)
            self.middleware.responder.log_exception(error, "the app iterable's close() failed", request)

    def replaced(self, iterable: Iterable[bytes]) -> list[bytes]:
        """The held error page, read and closed, replaced by its problem."""
        assert self.held is not None
        status, headers, body = self.held
        failure: Exception | None = None
        try:
            for chunk in iterable:
                self._hold(chunk)
                if len(body) >= HELD_BODY_LIMIT:
                    break
        except Exception as exc:  # the page failed to render: the app crashed before any byte went out
            failure = exc
        self.close_answered(iterable)
        if failure is not None:
            return self.failed(failure)
        request = request_of(self.environ, self.request_id)
        return self.answered(self.middleware.responder.rendered(status, headers, bytes(body), request), None)


def _text(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(key.decode("latin-1"), value.decode("latin-1")) for key, value in headers]


def _encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(key.lower().encode("latin-1", "replace"), value.encode("latin-1", "replace")) for key, value in headers]


class WSGIProblemMiddleware(Transport):
    """Wrap any WSGI app so that every error it produces is an RFC 9457 problem.

    One line, outermost, around Flask, Django (`get_wsgi_application()`),
    Falcon (`falcon.App`) or any WSGI app, under any WSGI server (gunicorn,
    waitress, mod_wsgi, granian):

    ```python
    app = WSGIProblemMiddleware(flask_app, catalog=catalog)
    ```

    Its options and behaviour are `ProblemMiddleware`'s (an `instance=`
    function gets the WSGI environ). It hooks into the wrapped framework's
    error handling at construction (`integrate=False` turns that off).
    """

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        # A layer outside (a guard around an installed app) made the exchange already.
        exchange = environ.get(EXCHANGE)
        made = exchange is None  # this layer releases what it made (`Exchange.release`)
        if exchange is None:
            request_id = environ.get("HTTP_X_REQUEST_ID")
            if request_id is None or not is_request_id_text(request_id):
                request_id = (
                    self._trace_request_id(environ).decode()
                    if self.request_id_from_trace
                    else next(_request_id.text_ids)
                )
            exchange = environ[EXCHANGE] = Exchange()
            exchange.request_id, exchange.handover = request_id.encode(), self.handover
        else:
            request_id, exchange.handover = exchange.request_id.decode(), self.handover
        # `current_request_id()` for the app's own code while it is called (a streamed body is
        # iterated after this returns, in the server's hands).
        token = serving.set(environ)
        try:
            return self._serve(environ, start_response, exchange, request_id)
        finally:
            serving.reset(token)
            if made and exchange.request is not None:
                exchange.release()

    def _serve(
        self, environ: Environ, start_response: StartResponse, exchange: Exchange, request_id: str
    ) -> Iterable[bytes]:
        docs = self.docs
        if docs is not None and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            if path.startswith(docs.path):
                query = environ.get("QUERY_STRING", "").encode("latin-1")
                answer = docs.response(path[len(docs.path) :], query, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
                if answer is not None:
                    status, headers, body = answer
                    line = f"{status} {status_phrase(status)}"
                    pairs = [(key.decode(), value.decode("latin-1")) for key, value in headers]
                    start_response(line, [*pairs, ("X-Request-ID", request_id)])
                    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
        relay = _Relay(self, environ, start_response, exchange, request_id)
        try:
            iterable = self.app(environ, relay.start_response)
        except Exception as exc:
            return relay.failed(exc)
        if relay.held is not None:
            return relay.replaced(iterable)
        relay.iterable = iterable
        if relay.started:  # the common case: the app started its response before returning
            return relay
        # A generator app starts its response with its first chunk: read up to it.
        chunks = iter(iterable)
        try:
            first = b""
            while not first:
                first = next(chunks)
        except StopIteration:
            first = b""
        except Exception as exc:
            relay.close_answered(iterable)
            return relay.failed(exc)
        if relay.held is not None:
            relay.held[2].extend(first[:HELD_BODY_LIMIT])
            return relay.replaced(_Rest(chunks, iterable))
        if not relay.started:
            relay.close_answered(iterable)
            return relay.answered(self.responder.unanswered(request_of(environ, request_id)), None)
        relay.chunks, relay.sent = _prepend(first, chunks), bool(first)
        return relay


class _Rest:
    """The rest of an iterable already started, with the original's `close()`."""

    __slots__ = ("_chunks", "_iterable")

    def __init__(self, chunks: Iterator[bytes], iterable: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._iterable = iterable

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        _close(self._iterable)


def _prepend(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from chunks
