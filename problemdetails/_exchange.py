"""One request's state: one object, under one key of the ASGI scope or WSGI environ being served.

A middleware (ASGI or WSGI, installed in an app or wrapping one) puts an
`Exchange` under `EXCHANGE` in every scope or environ it serves; a layer
inside another serving the same request (an installed app under a guard)
takes over the same object. Whatever handles the request reads and writes it:
the framework's error hooks (`_handovers/`), the responder, the telemetry, and
`current_request_id()`. Nothing else about a request is kept in the scope.

The one hand-over protocol is its `problem` and `answered`: a framework's
hook that claims an exception decides its problem (logged once, in the
framework's own context) and answers with that problem's response through the
framework's own response machinery (`HandOver.response`), which leaves the
answer's headers here; the middleware gives the response those headers on its
way out. A crash the framework answers with its own page is decided (`kept`)
without an answer: the middleware replaces that page with the problem.

    hook claims ─► problem, answered ─► framework's response ─► middleware: answered's headers
    hook keeps  ─► problem            ─► framework's 500 page ─► middleware: the problem instead
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextvars import Token

    from problemdetails._handovers.base import HandOver
    from problemdetails._problem import Problem
    from problemdetails._request import Request

__all__ = ["EXCHANGE", "Exchange", "exchange_of"]

EXCHANGE = "problemdetails"


class Exchange:
    """What the middleware serving a request knows of it, and what a framework's hooks left for it."""

    # Defaults on the class, and no `__init__` to call: every request makes one (its maker sets
    # `request_id` and `handover`), and sets only what happens to it (`make bench-instructions`).
    request_id: bytes = b""  # its id (`X-Request-ID`), chosen by the outermost layer
    handover: HandOver | None = None  # the innermost middleware's: what a framework's hooks ask
    request: Request | None = None  # its facts, read once, when an error needs them
    problem: Problem | None = None  # the problem a hook decided for it (logged already)
    # The answer's status and headers, when a hook answered with `problem`'s response itself.
    answered: tuple[int, list[tuple[bytes, bytes]]] | None = None
    kept: BaseException | None = None  # the crash a framework's crash path handed over
    # A crash for the framework's own debugger (werkzeug's, in Flask's debug mode, for a browser):
    # every layer lets it pass, a guard outside the app too.
    debugged: BaseException | None = None
    code: str | None = None  # the label its answer is counted and traced under
    # The `serving` context token of a layer that cannot reset it in a `finally` (Falcon's
    # components), reset when the response is done.
    token: Token[Any] | None = None
    # The framework layer that made the exchange (`Transport.enter`), which releases it when done.
    owner: object = None

    def release(self) -> None:
        """Drop what an error left here, once the layer that made the exchange is done with the request.

        The request's facts hold its scope or environ, which holds this
        exchange; a problem's traceback holds frames whose locals hold it too.
        Left, each error response would be a reference cycle waiting for the
        garbage collector (a collection every few hundred errors, which `make
        bench-instructions` counted at about 5k instructions per error).
        """
        self.request = self.problem = self.kept = self.debugged = None


def exchange_of(native: Any) -> Exchange | None:
    """The exchange a middleware keeps in `native` (an ASGI scope or WSGI environ), or None when none serves it."""
    found = native.get(EXCHANGE) if native is not None else None
    return found if found.__class__ is Exchange else None
