"""What both middlewares are built from: the responder, the doc site, and the framework's hand-over.

`ProblemMiddleware` (ASGI) and `WSGIProblemMiddleware` (WSGI) take the same
options and differ only in how they carry bytes.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from problemdetails import _request_id, _telemetry
from problemdetails._catalog import Catalog
from problemdetails._context import header, recording_span, trace_id_of
from problemdetails._decider import ExceptionMap
from problemdetails._docs_site import DocsSite
from problemdetails._exchange import EXCHANGE, Exchange, exchange_of
from problemdetails._grammar import is_request_id_text
from problemdetails._handovers import FRAMEWORKS, HandOver, install
from problemdetails._handovers.base import Framework
from problemdetails._problem import Problem
from problemdetails._profiles import WireProfile
from problemdetails._request import request_path
from problemdetails._responder import Responder

__all__ = ["Transport"]


class Transport:
    """The options of a middleware, made into its responder, doc site and hand-over."""

    def __init__(
        self,
        app: Any,
        *,
        catalog: Catalog,
        exception_map: ExceptionMap | None = None,
        debug: bool = False,
        www_authenticate: str = "Bearer",
        rewrite_error_responses: bool = True,
        docs_path: str | None = None,
        docs_dir: str | os.PathLike[str] | None = None,
        profile: WireProfile | None = None,
        instance: Callable[[Any], str | None] | None = request_path,
        logger: logging.Logger | None = None,
        integrate: bool = True,
        enrich: Callable[[Problem, Any], Problem | None] | None = None,
        request_id_from_trace: bool = False,
    ) -> None:
        self.app = app
        self.catalog = catalog
        self.responder: Responder = Responder(
            catalog,
            exception_map=exception_map,
            debug=debug,
            www_authenticate=www_authenticate,
            profile=profile,
            instance=instance,
            logger=logger,
            frameworks=FRAMEWORKS,
            enrich=enrich,
        )
        self.request_id_from_trace = request_id_from_trace
        self.rewrite_error_responses = rewrite_error_responses
        self.docs: DocsSite | None = DocsSite(catalog, docs_path, docs_dir) if docs_path is not None else None
        self.handover: HandOver = HandOver(self.responder)
        self.framework: Framework | None = install(app, self.handover) if integrate else None
        _telemetry.install_sentry()
        if _instrumented_inside(app):
            warnings.warn(
                f"OpenTelemetry's middleware is inside {type(self).__name__}: an exception it sees pass marks "
                "its span as an error (a 4xx problem too), and problems answered outside its span get no "
                "trace_id. Wrap it outside: OpenTelemetryMiddleware(ProblemMiddleware(app, ...)).",
                RuntimeWarning,
                stacklevel=2,
            )

    def enter(self, native: MutableMapping[str, Any], sent: str | None = None) -> Exchange:
        """Serve a request from its ASGI scope or WSGI environ: its exchange, with its id and this layer's hand-over.

        A layer outside (a guard around an installed app) made the exchange
        already: this one takes it over. Else the id is a valid `X-Request-ID`,
        else the trace id or a new one. The framework layers (Django's, Falcon's,
        BlackSheep's) call this; the ASGI and WSGI middlewares inline it on their
        happy path. `sent` is the request's `X-Request-ID` when the layer read it
        from its framework's request already (`""` for none), so that `native`'s
        headers are not read on the happy path (Tornado's).
        """
        exchange = exchange_of(native)
        if exchange is not None:
            exchange.handover = self.handover
            return exchange
        request_id = header(native, "x-request-id") if sent is None else sent
        if request_id is None or not is_request_id_text(request_id):
            request_id = (
                self._trace_request_id(native).decode() if self.request_id_from_trace else next(_request_id.text_ids)
            )
        exchange = native[EXCHANGE] = Exchange()
        exchange.request_id, exchange.handover, exchange.owner = request_id.encode(), self.handover, self
        return exchange

    def leave(self, exchange: Exchange) -> None:
        """Done with a request: release its exchange if this layer made it (`Exchange.release`)."""
        if exchange.owner is self and exchange.request is not None:
            exchange.release()

    @staticmethod
    def _trace_request_id(native: Mapping[str, Any]) -> bytes:
        """A request's id taken from its trace (`request_id_from_trace=True`): the trace id, else a new id."""
        trace_id = trace_id_of(native, recording_span())
        return trace_id.encode() if trace_id is not None else next(_request_id.request_ids)


def _instrumented_inside(app: Any) -> bool:
    """OpenTelemetry's ASGI or WSGI middleware is among the layers `app` wraps (the documented order is outside)."""
    for _ in range(32):  # a bounded walk down `.app` (ASGI) and `.wsgi` (OpenTelemetry's WSGI) attributes
        if type(app).__module__.startswith("opentelemetry.instrumentation."):
            return True
        app = getattr(app, "app", None) or getattr(app, "wsgi", None)
        if app is None:
            return False
    return False
