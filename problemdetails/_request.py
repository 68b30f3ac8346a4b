"""The facts of a request that an error is decided and answered on: method, path, `Accept`, id.

The middlewares read them from the ASGI scope or WSGI environ once, when an
error needs them (`request_of`, kept in the request's `Exchange`); a stack this
library does not ship builds a `Request` itself (`Responder.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote

from problemdetails._context import header, recording_span, span_trace_id
from problemdetails._exchange import EXCHANGE, Exchange
from problemdetails._grammar import is_request_id, traceparent_trace_id
from problemdetails._logging import where
from problemdetails._request_id import new_request_id

__all__ = ["Request", "request_of", "request_path", "same_origin"]

# A path that is already a valid URI path needs no quoting (the common case).
_is_plain_path = re.compile(r"[A-Za-z0-9/\-._~!$&'()*+,;=:@]*").fullmatch


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
        return same_origin(path or "/")
    path = native.get("path") or "/"
    path = path if _is_plain_path(path) else quote(path, safe="/!$&'()*+,;=:@-._~")
    return "/." + path if path.startswith("//") else path  # `same_origin`, inline: every error asks


def same_origin(reference: str) -> str:
    """`reference`, but never a network-path reference (`//host/x`), which resolves to another host.

    RFC 3986 §4.2: "A relative reference that begins with two slash characters
    is termed a network-path reference". A path `//evil.example/x` is sent as
    `/.//evil.example/x`, which resolves (§5.2.4 removes the `/.`) to that same
    path on this host.
    """
    return "/." + reference if reference.startswith("//") else reference


class Request:
    """The facts of a request that the responder decides on: method, path, headers, request id.

    Build one to answer an error in a stack this library does not ship
    (`Responder.answer`); the middlewares build theirs from the ASGI scope or
    WSGI environ. `headers` are (name, value) pairs, `str` or `bytes`. The
    request id is `request_id` when given, else the request's valid
    `X-Request-ID`, else a new one; `Accept` picks the representation,
    `Accept-Language` the language (for a catalog with translations), and
    `traceparent` gives problems their `trace_id`.

    ```python
    request = problemdetails.Request("GET", "/v1/zones/42", [("Accept", "application/json")])
    ```
    """

    __slots__ = (
        "_accept_language",
        "_trace_id",
        "_traceparent",
        "accept",
        "exchange",
        "method",
        "native",
        "path",
        "request_id",
    )

    method: str
    path: str
    accept: bytes
    request_id: str
    native: MutableMapping[str, Any]  # the ASGI scope or the WSGI environ: what `instance=` functions get
    exchange: Exchange | None  # the state a middleware keeps for the request (None: no middleware serves it)

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
        traceparents = [value for name, value in fields if name == b"traceparent"]
        # An ASGI-like scope of these facts: what `instance=`, `enrich=` and the trace context read.
        native: dict[str, Any] = {
            "type": "http",
            "method": method,
            "path": path,
            "headers": fields,
            "query_string": b"",
        }
        self.method, self.path, self.accept, self.request_id, self.native = method, path, accept, request_id, native
        self._traceparent = traceparents[0].decode("latin-1") if len(traceparents) == 1 else None
        self._trace_id: str | bool | None = False  # not looked up yet
        self._accept_language: str | None = None
        # Its own state, as a middleware's request has; not pointing back at the request (which holds `native`):
        # no reference cycle per error (`Exchange.release`).
        exchange = self.exchange = native[EXCHANGE] = Exchange()
        exchange.request_id = request_id.encode()

    @classmethod
    def _of(
        cls,
        method: str,
        path: str,
        accept: bytes,
        request_id: str,
        native: MutableMapping[str, Any],
        traceparent: str | None = None,
    ) -> Request:
        """The facts a middleware read from its scope or environ, in one pass (`traceparent`: sent once, else None)."""
        request = cls.__new__(cls)
        request.method, request.path, request.accept, request.request_id = method, path, accept, request_id
        request.native, request._traceparent, request.exchange, request._trace_id = native, traceparent, None, False
        request._accept_language = None
        return request

    @property
    def accept_language(self) -> str:
        """The request's `Accept-Language` (its field lines joined), read when a catalog with translations asks."""
        found = self._accept_language
        if found is None:
            found = self._accept_language = header(self.native, "accept-language", combined=True) or ""
        return found

    @property
    def logged(self) -> str:
        return where(self.method, self.path)

    @property
    def trace_id(self) -> str | None:
        """The request's W3C trace id (the active span's, else its `traceparent`'s), read once."""
        found = self._trace_id
        return self.trace_id_in(recording_span()) if found is False else found  # type: ignore[return-value]

    def trace_id_in(self, span: Any) -> str | None:
        """`trace_id`, where `span` is the recording span (`recording_span()`, or None) already looked up."""
        found = self._trace_id
        if found is False:
            found = span_trace_id(span)
            if found is None and self._traceparent is not None:
                found = traceparent_trace_id(self._traceparent)
            self._trace_id = found
        return found  # type: ignore[return-value]


def _field_bytes(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("latin-1", "replace")
    raise TypeError(f"Request(): header names and values are str or bytes, not {type(text).__name__}")


def request_of(native: MutableMapping[str, Any], request_id: str | None = None) -> Request:
    """The facts of a request from its ASGI scope or WSGI environ (the request id as a middleware set it)."""
    exchange = native.get(EXCHANGE)
    if exchange.__class__ is not Exchange:  # no middleware serves it (a framework's hook answering alone)
        return _read_request(native, request_id or "")
    known = exchange.request
    if known is not None and (request_id is None or request_id == known.request_id):
        return known  # an error may pass several hooks: the facts are read once
    request = exchange.request = _read_request(native, request_id or exchange.request_id.decode())
    request.exchange = exchange
    return request


def _read_request(native: MutableMapping[str, Any], request_id: str) -> Request:
    if "REQUEST_METHOD" in native:  # WSGI
        # PEP 3333: the path is the request's bytes decoded as latin-1; logged as the UTF-8 it was.
        path = (native.get("SCRIPT_NAME", "") + native.get("PATH_INFO", "")).encode("latin-1", "replace")
        accept = native.get("HTTP_ACCEPT", "").encode("latin-1", "replace")
        method = str(native["REQUEST_METHOD"])
        # A server joins a repeated header with commas: no valid `traceparent` then.
        traceparent = native.get("HTTP_TRACEPARENT")
        traceparent = traceparent if isinstance(traceparent, str) else None
        return Request._of(method, path.decode("utf-8", "replace"), accept, request_id, native, traceparent)
    accept = traceparent = None
    several = False
    for key, value in native.get("headers", ()):  # one pass (ASGI header names are lowercase)
        if key == b"accept":
            if accept is None:  # the first
                accept = value
        elif key == b"traceparent":
            several, traceparent = traceparent is not None, value.decode("latin-1")
    method = str(native.get("method", "WEBSOCKET"))
    path = str(native.get("path", ""))
    return Request._of(method, path, accept or b"", request_id, native, None if several else traceparent)
