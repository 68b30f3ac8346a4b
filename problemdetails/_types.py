"""ASGI type aliases, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: frameworks type their scopes as TypedDicts, which are not
# MutableMappings, and every one of them is an app this middleware can wrap.
ASGIApp = Callable[..., Awaitable[None]]
