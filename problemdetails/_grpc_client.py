"""gRPC on the client side: the typed problem a failed call stands for, and interceptors that raise it.

A service answering gRPC from the same catalog ends a failed call with its
problem's code, its message, and a `google.rpc.Status` with rich details in
the `grpc-status-details-bin` trailer (DESIGN.md "gRPC (pinned)";
`_error_details.py` says which). `decode_grpc` reads them back into the typed
problem, as `decode` does an HTTP response; the interceptors raise that problem
for callers who prefer exceptions.

grpcio, grpcio-status and googleapis-common-protos are the `grpc` extra:
`problemdetails.client` imports this module on first use only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

try:
    import grpc
    from google.protobuf.message import DecodeError as ProtobufDecodeError
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status
except ImportError as missing:  # pragma: no cover - the test environment has the extra
    raise ImportError(
        f"problemdetails' gRPC support needs {missing.name}: pip install 'problemdetails[grpc]'"
    ) from missing

from problemdetails._client import problem_of_members
from problemdetails._error_details import ErrorDetails, Violation, problem_members
from problemdetails._exceptions import DecodeError
from problemdetails._grammar import MAX_DELAY_SECONDS
from problemdetails._grpc_codes import STATUS_OF_CODE
from problemdetails._problem import Problem, Received

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog

__all__ = ["ProblemClientInterceptor", "async_problem_interceptors", "decode_grpc"]

# The details DESIGN.md pins, by their protobuf name; any other kind is skipped.
_KINDS: dict[str, Any] = {
    "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
    "google.rpc.Help": error_details_pb2.Help,
    "google.rpc.RequestInfo": error_details_pb2.RequestInfo,
    "google.rpc.RetryInfo": error_details_pb2.RetryInfo,
    "google.rpc.BadRequest": error_details_pb2.BadRequest,
}


def decode_grpc(rpc_error: Any, *, catalog: Catalog | None = None) -> Problem:
    """The problem a failed gRPC call stands for: the catalog's typed class when its details name one.

    Pass the `grpc.RpcError` a call raised (sync) or the `grpc.aio.AioRpcError`
    (asyncio):

    ```python
    try:
        stub.CreateZone(request)
    except grpc.RpcError as error:
        problem = decode_grpc(error, catalog=catalog)
    ```

    - The `google.rpc.Status` in `grpc-status-details-bin` is read with
      grpcio-status's `from_call`, so one whose code or message disagrees with
      the call's is not believed; unreadable details are ignored.
    - `ErrorInfo.reason` names the slug (`QUOTA_EXCEEDED` is `quota-exceeded`)
      when its `domain` is the catalog's; the members come back in their
      catalog types from `ErrorInfo.metadata`, `errors` from there or from
      `BadRequest`; `detail` is the message unless it is the title;
      `request_id` is `RequestInfo`'s, else the `x-request-id` metadata.
    - Without such details (another server, grpcio's own errors), the problem
      is the catalog's for the status the code stands for (`NOT_FOUND`: 404),
      else `about:blank` with that status.
    - `problem.received` keeps the call: `grpc_code` (the code's name),
      `retry_after` (`RetryInfo`'s delay, which `RetryPolicy` honours), the
      metadata as `headers`, and the error as `response`.

    Whatever the peer sends, the only exception is `DecodeError`: for a call
    that did not fail (`OK`), or an object that is not a finished call.
    """
    code, message = _outcome(rpc_error)
    details = _details_of(_status_of(rpc_error))
    status = STATUS_OF_CODE.get(code.name, 500)
    members = problem_members(status, message, details, catalog)
    status = members.pop("status", status)
    problem = problem_of_members(status, members, catalog)
    metadata = _metadata(rpc_error)
    if problem.request_id is None and metadata.get("x-request-id"):
        problem.request_id = metadata["x-request-id"]
    problem.received = Received(
        status=problem.status,
        headers=metadata,
        retry_after=details.retry_delay,
        response=rpc_error,
        grpc_code=code.name,
    )
    return problem


def _outcome(rpc_error: Any) -> tuple[Any, str]:
    """The call's code and message; DecodeError when it is no failed call."""
    try:
        code, message = rpc_error.code(), rpc_error.details()
    except (AttributeError, TypeError) as error:  # not a grpc.Call: a bare RpcError, anything else
        raise DecodeError(f"not a finished gRPC call: {type(rpc_error).__name__}") from error
    if not isinstance(code, grpc.StatusCode):
        raise DecodeError(f"not a finished gRPC call: its code is {code!r}")
    if code is grpc.StatusCode.OK:
        raise DecodeError("status OK is not an error")
    return code, message if isinstance(message, str) else ""


def _status_of(rpc_error: Any) -> Any:
    """The call's `google.rpc.Status`, when it sent one that agrees with its code and message."""
    try:
        # An `AioRpcError`'s methods are synchronous (its call is over): the same reading holds.
        return rpc_status.from_call(rpc_error)
    except (ValueError, ProtobufDecodeError):  # not a Status, or one that contradicts the call
        return None


def _details_of(status: Any) -> ErrorDetails:
    """The details DESIGN.md pins, the first of each kind; what does not unpack is skipped."""
    if status is None:
        return ErrorDetails()
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for packed in status.details:
        name = packed.TypeName()
        kind = _KINDS.get(name)
        if kind is None or name in seen:
            continue
        detail = kind()
        try:
            if not packed.Unpack(detail):
                continue
        except ProtobufDecodeError:
            continue
        seen.add(name)
        if name == "google.rpc.ErrorInfo":
            values.update(reason=detail.reason, domain=detail.domain, metadata=dict(detail.metadata))
        elif name == "google.rpc.Help":
            values["links"] = tuple((link.description, link.url) for link in detail.links)
        elif name == "google.rpc.RequestInfo":
            values["request_id"] = detail.request_id or None
        elif name == "google.rpc.RetryInfo":
            delay = detail.retry_delay
            seconds = delay.seconds + delay.nanos / 1_000_000_000
            values["retry_delay"] = min(max(0.0, seconds), float(MAX_DELAY_SECONDS))
        else:
            violations = detail.field_violations
            values["violations"] = tuple(Violation(v.field, v.description, v.reason) for v in violations)
    return ErrorDetails(**values)


def _metadata(rpc_error: Any) -> dict[str, str]:
    """The call's text metadata, initial then trailing (binary `-bin` values are left out)."""
    found: dict[str, str] = {}
    for method in ("initial_metadata", "trailing_metadata"):
        try:
            pairs = getattr(rpc_error, method)() or ()
            for key, value in pairs:
                if isinstance(key, str) and isinstance(value, str):
                    found[key.lower()] = value
        except (AttributeError, TypeError, ValueError):  # a call of another make: the metadata is a convenience
            continue
    return found


def _problem(error: BaseException | None, catalog: Catalog | None) -> BaseException | None:
    """The problem an RPC error stands for; any other exception (or one that is no call) as it is."""
    if not isinstance(error, grpc.RpcError):
        return error
    try:
        return decode_grpc(error, catalog=catalog)
    except DecodeError:
        failure: BaseException = error
        return failure


class _Raising(grpc.Call, grpc.Future):  # type: ignore[misc]
    """A call whose failure is the typed problem: `result()`, `exception()` and iteration say it."""

    def __init__(self, call: Any, catalog: Catalog | None) -> None:
        self._call = call
        self._catalog = catalog
        self._translated: BaseException | None = None

    def _failure(self, error: BaseException) -> BaseException:
        if self._translated is None:
            self._translated = _problem(error, self._catalog)
        return self._translated or error

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._call.result(timeout)
        except grpc.RpcError as error:
            failure = self._failure(error)
            if failure is error:
                raise
            raise failure from error

    def exception(self, timeout: float | None = None) -> BaseException | None:
        error = self._call.exception(timeout)
        return self._failure(error) if error is not None else None

    def traceback(self, timeout: float | None = None) -> Any:
        return self._call.traceback(timeout)

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        self._call.add_done_callback(lambda _: fn(self))

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except grpc.RpcError as error:
            failure = self._failure(error)
            if failure is error:
                raise
            raise failure from error

    # Everything else is the call's.
    def initial_metadata(self) -> Any:
        return self._call.initial_metadata()

    def trailing_metadata(self) -> Any:
        return self._call.trailing_metadata()

    def code(self) -> Any:
        return self._call.code()

    def details(self) -> Any:
        return self._call.details()

    def is_active(self) -> bool:
        return bool(self._call.is_active())

    def time_remaining(self) -> float | None:
        remaining: float | None = self._call.time_remaining()
        return remaining

    def cancel(self) -> bool:
        return bool(self._call.cancel())

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return bool(self._call.add_callback(callback))

    def cancelled(self) -> bool:
        return bool(self._call.cancelled())

    def running(self) -> bool:
        return bool(self._call.running())

    def done(self) -> bool:
        return bool(self._call.done())


class ProblemClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """A client interceptor that raises the typed problem of a failed call, for `grpc.intercept_channel`.

    ```python
    channel = grpc.intercept_channel(grpc.insecure_channel(target), ProblemClientInterceptor(catalog))
    try:
        stub.CreateZone(request)
    except QuotaExceeded as problem:
        print(problem.limit, problem.request_id)
    ```

    Every kind of method: a unary call raises the problem (from `result()` too,
    for `.future()` calls), a stream raises it where the failure ends it. The
    `grpc.RpcError` is the problem's `__cause__` and `problem.response`.
    """

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return _Raising(continuation(client_call_details, request), self.catalog)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return _Raising(continuation(client_call_details, request), self.catalog)

    def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return _Raising(continuation(client_call_details, request_iterator), self.catalog)

    def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return _Raising(continuation(client_call_details, request_iterator), self.catalog)


def async_problem_interceptors(catalog: Catalog | None = None) -> list[Any]:
    """The interceptors that raise the typed problem of a failed call, for a `grpc.aio` channel.

    ```python
    channel = grpc.aio.insecure_channel(target, interceptors=async_problem_interceptors(catalog))
    ```

    One per kind of method: a `grpc.aio` channel files each interceptor under
    the first kind it is, so one object cannot serve all four.
    """
    return [
        _AsyncUnaryUnary(catalog),
        _AsyncUnaryStream(catalog),
        _AsyncStreamUnary(catalog),
        _AsyncStreamStream(catalog),
    ]


def _raise_problem(error: grpc.aio.AioRpcError, catalog: Catalog | None) -> None:
    failure = _problem(error, catalog)
    if failure is not error and failure is not None:
        raise failure from error


class _AsyncInterceptor:
    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog

    async def _unary(self, call: Any) -> Any:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            _raise_problem(error, self.catalog)
            raise
        return call

    async def _stream(self, call: Any) -> AsyncIterator[Any]:
        try:
            async for response in call:
                yield response
        except grpc.aio.AioRpcError as error:
            _raise_problem(error, self.catalog)
            raise


class _AsyncUnaryUnary(_AsyncInterceptor, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await self._unary(await continuation(client_call_details, request))


class _AsyncUnaryStream(_AsyncInterceptor, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return self._stream(await continuation(client_call_details, request))


class _AsyncStreamUnary(_AsyncInterceptor, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await self._unary(await continuation(client_call_details, request_iterator))


class _AsyncStreamStream(_AsyncInterceptor, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return self._stream(await continuation(client_call_details, request_iterator))
