"""gRPC's convention: a server interceptor. The same catalog answers gRPC calls as it answers HTTP requests.

```python
server = grpc.server(executor, interceptors=[problemdetails.grpc.ProblemInterceptor(catalog)])
server = grpc.aio.server(interceptors=[problemdetails.grpc.AsyncProblemInterceptor(catalog)])
```

Every method's handler, unary or streaming, runs inside the interceptor. It answers:

    a raised problem, a mapped exception ─► the problem's google.rpc.Status (`_grpc_status.py`)
    any other exception                  ─► INTERNAL, the catalog's `internal` title, nothing of the exception
    the handler's own abort              ─► passed on, as the handler chose it

The status goes out as grpcio-status sends one: `grpc-status` its code,
`grpc-message` its message, `grpc-status-details-bin` the `google.rpc.Status`
itself, in the trailers (after messages of a stream that started, too). The
decision is the public responder's (`Responder.rpc_status`): logged, counted,
traced and reported to Sentry as an HTTP answer is.

Request ids: a valid `x-request-id` the client sent, else a new one;
`current_request_id()` gives it inside the handler. It goes back in the
initial metadata when that goes out before the status anyway: with the
handler's own (`context.send_initial_metadata`), and before a stream's first
message; else in the trailing metadata. A unary call's initial metadata
travels with its response in one batch: sending it apart for the id alone
would cost a unary call about a quarter more (benchmarks/GRPC.md).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, ClassVar

from problemdetails import _request_id, _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import serving
from problemdetails._decider import ExceptionMap
from problemdetails._exchange import EXCHANGE, Exchange
from problemdetails._grammar import is_request_id_text
from problemdetails._problem import Problem
from problemdetails._request import request_of
from problemdetails._responder import Responder

try:
    import grpc
    import grpc.aio
    from grpc_status import rpc_status
except ImportError as _missing:
    raise ImportError(
        "problemdetails.grpc needs grpcio and grpcio-status: pip install 'problemdetails[grpc]'"
    ) from _missing

__all__ = ["AsyncProblemInterceptor", "ProblemInterceptor"]

_Metadata = tuple[tuple[str, str | bytes], ...]

_ID = "x-request-id"
_KEPT = 4096  # wrapped handlers kept, one per method: a generic handler may answer any method name
_END = object()  # a stream's end, told apart from any message


class _Answered:
    """What a sync unary handler returns once its call is ended with a status (see `_serializer`)."""

    def __repr__(self) -> str:
        return "<no message: the call ended with its problem's status>"


_ANSWERED = _Answered()


class _Interceptor:
    """What both interceptors share: the responder that decides every failed call, and the wrapped handlers."""

    _asyncio: ClassVar[bool] = False

    def __init__(
        self,
        catalog: Catalog,
        *,
        exception_map: ExceptionMap | None = None,
        debug: bool = False,
        logger: logging.Logger | None = None,
        enrich: Callable[[Problem, Any], Problem | None] | None = None,
    ) -> None:
        self.catalog: Catalog = catalog
        # gRPC has no representation to negotiate and no `instance`: the options that decide answers.
        self.responder: Responder = Responder(
            catalog, exception_map=exception_map, debug=debug, logger=logger, enrich=enrich, instance=None
        )
        self._handlers: dict[str, tuple[Any, Any]] = {}
        _telemetry.install_sentry()

    def _wrap(self, handler: Any, name: str) -> Any:
        """`handler` run inside the interceptor: made once per method while the server hands out the same one."""
        known = self._handlers.get(name)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = _wrapped(handler, _Method(self.responder, name), asyncio=self._asyncio)
        if len(self._handlers) < _KEPT:
            self._handlers[name] = (handler, wrapped)
        return wrapped


class ProblemInterceptor(_Interceptor, grpc.ServerInterceptor):  # type: ignore[misc]  # grpcio is untyped
    """A `grpc.server` interceptor that ends every failed call with its problem's `google.rpc.Status`.

    List it in the server's interceptors; OpenTelemetry's and Sentry's go
    before it (outside), so that its decision lands on their span and scope.
    The options are those of `ProblemMiddleware` that decide answers:
    `exception_map`, `debug`, `logger`, `enrich`.

    ```python
    server = grpc.server(
        ThreadPoolExecutor(max_workers=8),
        interceptors=[problemdetails.grpc.ProblemInterceptor(catalog, exception_map={KeyError: "not-found"})],
    )
    ```

    A handler then raises the catalog's problems as an HTTP view does
    (`raise catalog["conflict"]("zone exists")`); the client reads them with
    grpcio-status's `rpc_status.from_call`, or `problemdetails.client.decode_grpc`.
    An interceptor listed before it gets no message from a unary call that
    failed, but a placeholder that tells grpcio's server to end the call with
    the status it holds.
    """

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:  # no such method: grpcio answers UNIMPLEMENTED itself
            return None
        return self._wrap(handler, handler_call_details.method)


class AsyncProblemInterceptor(_Interceptor, grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpcio is untyped
    """A `grpc.aio.server` interceptor that ends every failed call with its problem's `google.rpc.Status`.

    `ProblemInterceptor`'s twin for asyncio servers, with the same options;
    it serves coroutine handlers, async generators, the reader/writer
    streaming style, and the sync handlers an aio server runs in its threads.

    ```python
    server = grpc.aio.server(interceptors=[problemdetails.grpc.AsyncProblemInterceptor(catalog)])
    ```
    """

    _asyncio = True

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self._wrap(handler, handler_call_details.method)


# -- wrapping a method's handler ------------------------------------------------


class _Method:
    """A method as its calls are served: its full name, and the responder deciding its failures."""

    __slots__ = ("name", "responder")

    def __init__(self, responder: Responder, name: str) -> None:
        self.responder = responder
        self.name = name


def _wrapped(handler: Any, method: _Method, *, asyncio: bool) -> Any:
    """`handler` with each behavior run inside the interceptor, as the same kind of method.

    An aio server runs coroutines, async generators and the reader/writer
    style (a coroutine writing through its context) in its loop, and any
    other behavior in its threads: each is wrapped as what it is.
    """
    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": _serializer(handler.response_serializer),
    }
    wrapped: Callable[..., Any]
    if handler.response_streaming:
        behavior = handler.stream_stream if handler.request_streaming else handler.unary_stream
        if asyncio and inspect.isasyncgenfunction(behavior):
            wrapped = _async_stream(method, behavior)
        elif asyncio and inspect.iscoroutinefunction(behavior):
            wrapped = _async_unary(method, behavior)
        else:
            wrapped = _sync_stream(method, behavior)
        make = (
            grpc.stream_stream_rpc_method_handler if handler.request_streaming else grpc.unary_stream_rpc_method_handler
        )
    else:
        behavior = handler.stream_unary if handler.request_streaming else handler.unary_unary
        wrapped = (_async_unary if asyncio and inspect.iscoroutinefunction(behavior) else _sync_unary)(method, behavior)
        make = (
            grpc.stream_unary_rpc_method_handler if handler.request_streaming else grpc.unary_unary_rpc_method_handler
        )
    return make(wrapped, **options)


def _serializer(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes | None]:
    """The handler's response serializer, and the way a sync unary call ends with the status it was given."""

    def serializer(message: Any) -> bytes | None:
        if message is _ANSWERED:
            # grpcio's sync server answers a response it cannot serialize by ending the call with the
            # code, message and trailing metadata the context holds: `_end`'s status.
            return None
        return serialize(message) if serialize is not None else message

    return serializer


def _sync_unary(method: _Method, behavior: Callable[..., Any]) -> Callable[..., Any]:
    def unary(request: Any, context: Any) -> Any:
        call = _Context(method, context)
        token = serving.set(call._native)
        try:
            response = behavior(request, call)
            call._finish()
            return response
        except Exception as exc:
            status = call._failed(exc)
            if status is None:
                raise
            _end(context, status)
            return _ANSWERED
        finally:
            serving.reset(token)
            call._release()

    return unary


def _sync_stream(method: _Method, behavior: Callable[..., Any]) -> Callable[..., Iterator[Any]]:
    def stream(request: Any, context: Any) -> Iterator[Any]:
        # The server's threads run each step (an aio server's, any of them): the call's scope is set
        # around each, never left behind in a thread.
        call = _Context(method, context)
        try:
            token = serving.set(call._native)
            try:
                responses = iter(behavior(request, call))
            finally:
                serving.reset(token)
            while True:
                token = serving.set(call._native)
                try:
                    response = next(responses, _END)
                    if response is not _END and not call._sent:
                        context.send_initial_metadata(((_ID, call._request_id),))
                        call._sent = True
                finally:
                    serving.reset(token)
                if response is _END:
                    break
                yield response
            call._finish()
        except Exception as exc:
            token = serving.set(call._native)
            try:
                status = call._failed(exc)
            finally:
                serving.reset(token)
            if status is None:
                raise
            _end(context, status)  # the stream ends: grpcio sends the status the context holds
        finally:
            call._release()

    return stream


def _async_unary(method: _Method, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def unary(request: Any, context: Any) -> Any:
        # Each call of an aio server is a task of its own: the call's scope is its context's.
        call = _AsyncContext(method, context)
        token = serving.set(call._native)
        try:
            response = await behavior(request, call)
            call._finish()
            return response
        except Exception as exc:
            status = call._failed(exc)
            if status is None:
                raise
            await _end_async(context, status)
            return None
        finally:
            serving.reset(token)
            call._release()

    return unary


def _async_stream(method: _Method, behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
        # Set around each step: a stream left unfinished is closed later, in another task's context.
        call = _AsyncContext(method, context)
        try:
            token = serving.set(call._native)
            try:
                responses = behavior(request, call).__aiter__()
            finally:
                serving.reset(token)
            while True:
                token = serving.set(call._native)
                try:
                    try:
                        response = await responses.__anext__()
                    except StopAsyncIteration:
                        break
                    if not call._sent:
                        await context.send_initial_metadata(((_ID, call._request_id),))
                        call._sent = True
                finally:
                    serving.reset(token)
                yield response
            call._finish()
        except Exception as exc:
            token = serving.set(call._native)
            try:
                status = call._failed(exc)
            finally:
                serving.reset(token)
            if status is None:
                raise
            await _end_async(context, status)
        finally:
            call._release()

    return stream


def _end(context: Any, status: Any) -> None:
    """End a call with `status` from a sync handler's thread: the context holds it, the handler returns.

    grpcio's abort raises a bare `Exception` to stop the handler. Raised out
    of here, it would reach the handlers outside, and OpenTelemetry's server
    span would record it as an exception: on every problem, a 4xx answer too.
    The call is over either way: the exception is kept from them.
    """
    try:
        abort_with_status = getattr(context, "abort_with_status", None)
        if abort_with_status is not None:
            abort_with_status(status)
        else:  # an aio server's context for a sync handler
            context.abort(status.code, status.details, status.trailing_metadata)
    except Exception:
        return


async def _end_async(context: Any, status: Any) -> None:
    """End a call with `status` from a coroutine: sent at once; the `AbortError` it raises is the server's.

    grpcio's aio server raises it again when the handler returns (its
    "Server method handlers may suppress the abort exception"), and ends the
    call quietly. Kept from the handlers outside (OpenTelemetry's), it is no
    exception of the handler's: a problem is an answer, not a crash.
    """
    try:
        await context.abort_with_status(status)
    except grpc.aio.AbortError:
        return


# -- one call -------------------------------------------------------------------


class _Fields:
    """A call's text metadata as an ASGI scope's headers (lowercase byte pairs), read when an error needs them."""

    __slots__ = ("metadata",)

    def __init__(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self.metadata = metadata

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self.metadata:
            if isinstance(value, str):  # `-bin` keys carry bytes: no header a problem reads
                yield key.encode("latin-1", "replace"), value.encode("latin-1", "replace")


class _Call:
    """One call: its scope (what `current_request_id()` and the responder read), its id, what went out.

    The servicer context its handler gets is made of it (`_Context`,
    `_AsyncContext`): the server's own, watching what the handler sends itself.
    """

    __slots__ = ("_aborted", "_context", "_method", "_native", "_request_id", "_sent", "_trailing")

    def __init__(self, method: _Method, context: Any) -> None:
        metadata = context.invocation_metadata() or ()
        given: str | bytes | None = None
        for key, value in metadata:
            if key == _ID:
                given = value if given is None else ""  # as `X-Request-ID`: sent twice, none is kept
        request_id = given if isinstance(given, str) and is_request_id_text(given) else next(_request_id.text_ids)
        exchange = Exchange()
        exchange.request_id = request_id.encode()
        # An ASGI-like scope of the call: HTTP/2 carries every gRPC call as a POST to its method's path.
        self._native: dict[str, Any] = {
            "type": "grpc",
            "method": "POST",
            "path": method.name,
            "headers": _Fields(metadata),
            EXCHANGE: exchange,
        }
        self._method, self._context, self._request_id = method, context, request_id
        self._sent = False  # the initial metadata went out, with the id
        self._aborted = False  # the handler ended the call itself (`context.abort`)
        self._trailing: _Metadata = ()  # the handler's own trailing metadata

    def __getattr__(self, name: str) -> Any:  # what the server's context has beyond grpcio's interface
        if name in _Call.__slots__:  # not set yet (a copy being made): never looked up in the context
            raise AttributeError(name)
        return getattr(self._context, name)

    def _initial(self, metadata: Any) -> _Metadata:
        """The handler's initial metadata, with the id (the handler's own `x-request-id` gives way)."""
        self._sent = True
        return (*((key, value) for key, value in tuple(metadata or ()) if key != _ID), (_ID, self._request_id))

    def _trailers(self, given: Sequence[tuple[str, str | bytes]] = ()) -> _Metadata:
        """The trailing metadata the call ends with: the handler's, `given`, and the id unless it went out already."""
        pairs = (*((key, value) for key, value in self._trailing if key != _ID), *given)
        return pairs if self._sent else (*pairs, (_ID, self._request_id))

    def _finish(self) -> None:
        """The handler returned: the id goes with the trailing metadata, unless it went out already."""
        if not self._sent:
            self._context.set_trailing_metadata(self._trailers() if self._trailing else ((_ID, self._request_id),))

    def _failed(self, exc: Exception) -> Any:
        """The status that ends the call for `exc` (decided), or None when `exc` must pass (the handler's own
        abort, a client gone)."""
        if self._aborted or isinstance(exc, grpc.aio.AbortError):
            return None
        if isinstance(exc, grpc.RpcError) and not _active(self._context):
            return None  # the client went away: grpcio ends the call, and nobody is left to answer
        status = self._method.responder.rpc_status(exc, request_of(self._native))
        sent = rpc_status.to_status(status)
        return sent._replace(trailing_metadata=self._trailers(sent.trailing_metadata))

    def _release(self) -> None:
        exchange = self._native[EXCHANGE]
        if exchange.request is not None:  # an error's facts: no reference cycle left behind
            exchange.release()


def _active(context: Any) -> bool:
    is_active = getattr(context, "is_active", None)  # an aio server's contexts have none
    if is_active is not None:
        return bool(is_active())
    done = getattr(context, "done", None)
    return not done() if done is not None else True


class _Context(_Call, grpc.ServicerContext):  # type: ignore[misc]  # grpcio is untyped
    """The servicer context a sync handler gets."""

    __slots__ = ()

    def send_initial_metadata(self, initial_metadata: Any) -> None:
        self._context.send_initial_metadata(self._initial(initial_metadata))

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        self._trailing = tuple(trailing_metadata or ())
        self._context.set_trailing_metadata(trailing_metadata)

    def abort(self, code: Any, details: Any, *args: Any) -> None:
        self._aborted = True
        self._context.abort(code, details, *args)

    def abort_with_status(self, status: Any) -> None:
        self._aborted = True
        self._context.abort_with_status(status)

    def is_active(self) -> bool:
        return bool(self._context.is_active())

    def time_remaining(self) -> Any:
        return self._context.time_remaining()

    def cancel(self) -> None:
        self._context.cancel()

    def add_callback(self, callback: Any) -> Any:
        return self._context.add_callback(callback)

    def invocation_metadata(self) -> Any:
        return self._context.invocation_metadata()

    def peer(self) -> Any:
        return self._context.peer()

    def peer_identities(self) -> Any:
        return self._context.peer_identities()

    def peer_identity_key(self) -> Any:
        return self._context.peer_identity_key()

    def auth_context(self) -> Any:
        return self._context.auth_context()

    def set_code(self, code: Any) -> None:
        self._context.set_code(code)

    def set_details(self, details: Any) -> None:
        self._context.set_details(details)

    def set_compression(self, compression: Any) -> None:
        self._context.set_compression(compression)

    def disable_next_message_compression(self) -> None:
        self._context.disable_next_message_compression()

    def trailing_metadata(self) -> Any:
        return self._context.trailing_metadata()

    def code(self) -> Any:
        return self._context.code()

    def details(self) -> Any:
        return self._context.details()


class _AsyncContext(_Call, grpc.aio.ServicerContext):  # type: ignore[misc]  # grpcio is untyped
    """The servicer context a coroutine handler gets."""

    __slots__ = ()

    async def send_initial_metadata(self, initial_metadata: Any) -> None:
        await self._context.send_initial_metadata(self._initial(initial_metadata))

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        self._trailing = tuple(trailing_metadata or ())
        self._context.set_trailing_metadata(trailing_metadata)

    async def abort(self, code: Any, details: str = "", trailing_metadata: Any = ()) -> None:
        self._aborted = True
        await self._context.abort(code, details, trailing_metadata)

    async def abort_with_status(self, status: Any) -> None:
        self._aborted = True
        await self._context.abort_with_status(status)

    async def read(self) -> Any:
        return await self._context.read()

    async def write(self, message: Any) -> None:
        if not self._sent:  # a stream's first message: the id goes before it
            await self._context.send_initial_metadata(((_ID, self._request_id),))
            self._sent = True
        await self._context.write(message)

    def invocation_metadata(self) -> Any:
        return self._context.invocation_metadata()

    def set_code(self, code: Any) -> None:
        self._context.set_code(code)

    def set_details(self, details: str) -> None:
        self._context.set_details(details)

    def set_compression(self, compression: Any) -> None:
        self._context.set_compression(compression)

    def disable_next_message_compression(self) -> None:
        self._context.disable_next_message_compression()

    def peer(self) -> Any:
        return self._context.peer()

    def peer_identities(self) -> Any:
        return self._context.peer_identities()

    def peer_identity_key(self) -> Any:
        return self._context.peer_identity_key()

    def auth_context(self) -> Any:
        return self._context.auth_context()

    def time_remaining(self) -> Any:
        return self._context.time_remaining()

    def trailing_metadata(self) -> Any:
        return self._context.trailing_metadata()

    def code(self) -> Any:
        return self._context.code()

    def details(self) -> Any:
        return self._context.details()

    def add_done_callback(self, callback: Any) -> None:
        self._context.add_done_callback(callback)

    def cancelled(self) -> bool:
        return bool(self._context.cancelled())

    def done(self) -> bool:
        return bool(self._context.done())
