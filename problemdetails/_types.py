"""ASGI and WSGI type aliases, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any

__all__ = ["ASGIApp", "Environ", "ExcInfo", "Message", "Receive", "Scope", "Send", "StartResponse", "WSGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: frameworks type their scopes as TypedDicts, which are not
# MutableMappings, and every one of them is an app this middleware can wrap.
ASGIApp = Callable[..., Awaitable[None]]

# PEP 3333. Loose for the same reason: every framework types its `__call__` its own way.
Environ = dict[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[..., Iterable[bytes]]
