"""Request ids: a valid incoming `X-Request-ID` is kept, else one is drawn here.

Request ids are 128 bits from the operating system's CSPRNG, as 32 lowercase
hex digits: unguessable, so a client cannot count a worker's traffic, and
unique across processes and hosts without coordination. They are drawn in
blocks of 1,024, so a request pays for one `next()` of a C-level iterator
rather than a system call (the happy path is measured by `make bench`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["new_request_id", "request_ids", "text_ids"]

_ID_BLOCK = 1024


def _request_id_block() -> list[bytes]:
    digits = os.urandom(16 * _ID_BLOCK).hex().encode()
    return [digits[start : start + 32] for start in range(0, len(digits), 32)]


def _text_id_block() -> list[str]:
    digits = os.urandom(16 * _ID_BLOCK).hex()
    return [digits[start : start + 32] for start in range(0, len(digits), 32)]


def _source(block: Callable[[], list[T]]) -> Iterator[T]:
    # `iter(function, sentinel)`, not a generator: a thread drawing a new block
    # while another asks for an id gets a second block, never "generator already executing".
    return itertools.chain.from_iterable(iter(block, None))


request_ids = _source(_request_id_block)  # bytes, for ASGI headers
text_ids = _source(_text_id_block)  # str, for WSGI headers


def _new_id_source() -> None:
    # A forked worker must not hand out the ids left in its parent's block.
    global request_ids, text_ids
    request_ids, text_ids = _source(_request_id_block), _source(_text_id_block)


os.register_at_fork(after_in_child=_new_id_source)


def new_request_id() -> bytes:
    """A fresh request id (ASCII bytes). The middlewares call `next(request_ids)` inline: it is the same."""
    return next(request_ids)
