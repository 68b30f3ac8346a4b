"""A WSGI harness: a strict PEP 3333 server in a function, checked by the standard library's validator.

`serve()` drives an app as a server must (one `start_response`, a second one
only with `exc_info` and only before any body byte went out, `close()`
always) and records what a client would see. The app is wrapped in
`wsgiref.validate.validator`, which fails on any PEP 3333 violation of the
middleware towards its server (warnings are errors in this suite).
"""

from __future__ import annotations

import io
import json
import wsgiref.util
import wsgiref.validate
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Served", "environ", "serve"]


@dataclass
class Served:
    status: str = ""
    header_list: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    starts: int = 0
    error: BaseException | None = None  # what the server saw raised (it would abort the connection)
    truncated: bool = False  # the error came after body bytes went out

    @property
    def code(self) -> int:
        return int(self.status[:3])

    @property
    def headers(self) -> dict[str, str]:
        names = [name.lower() for name, _ in self.header_list]
        assert len(names) == len(set(names)), f"repeated headers: {names}"
        return {name.lower(): value for name, value in self.header_list}

    def json(self) -> Any:
        return json.loads(self.body)


def environ(
    method: str = "GET", path: str = "/", headers: dict[str, str] | None = None, body: bytes = b""
) -> dict[str, Any]:
    path, _, query = path.partition("?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    wsgiref.util.setup_testing_defaults(env)
    return env


def serve(
    app: Callable[..., Iterable[bytes]],
    method: str = "GET",
    path: str = "/",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    validate: bool = True,
    gone: bool = False,
) -> Served:
    """Serve one request; `gone=True` is a client that hung up: the server's `write` raises BrokenPipeError."""
    served = Served()
    sent = False

    def start_response(
        status: str, header_list: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if sent:  # PEP 3333: "start_response must raise an error"
                raise exc_info[1].with_traceback(exc_info[2])
        elif served.starts:
            raise AssertionError("start_response called twice without exc_info")
        served.starts += 1
        served.status, served.header_list = status, list(header_list)
        return write

    def write(data: bytes) -> None:
        nonlocal sent
        if gone:
            raise BrokenPipeError("the client went away")
        sent = sent or bool(data)
        served.body += data

    wrapped = wsgiref.validate.validator(app) if validate else app
    result = wrapped(environ(method, path, headers, body), start_response)
    try:
        for chunk in result:
            sent = sent or bool(chunk)
            served.body += chunk
    except Exception as error:
        served.error, served.truncated = error, sent
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return served
