"""What a problem response tells OpenTelemetry and Sentry, when the app uses them.

Nothing here imports either: each is consulted only once the app has imported
it (`sys.modules`), so a service without them pays nothing, and the happy path
never comes here.

- OpenTelemetry: on the active span, `error.type` is the problem's code (the
  HTTP semantic conventions' attribute for "the class of error the operation
  ended with"); a 5xx also sets the span status to ERROR and records its
  exception once. The counter `problemdetails.problems` (attributes
  `problem.code`, `http.response.status_code`, and `rpc.grpc.status_code` for
  a gRPC call) counts every problem response through the global MeterProvider.
- Sentry: a global event processor tags every event raised while a request is
  served with its `request_id`, and with the `problem.code` it is answered with.
  A 5xx answer is reported by its ERROR record alone (`report`): the processor
  drops the event a framework's integration captures for it besides (Starlette's
  reports every `HTTPException` of a 5xx status).

All three carry the problem's `label`: its code when the serving catalog knows
it, else its status.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from problemdetails._context import serving
from problemdetails._exchange import exchange_of
from problemdetails._problem import Problem

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog
    from problemdetails._handovers.base import HandOver

__all__ = ["install_sentry", "label", "record", "relabel", "report"]

_instruments: dict[str, Any] = {}


def label(catalog: Catalog, problem: Problem) -> str:
    """What a problem is counted, traced and tagged as: its code when `catalog` knows it, else its status.

    A metric attribute, a span's `error.type` and a Sentry tag are series and
    groups: their values must be few, and chosen by this service. A code this
    catalog does not know was chosen elsewhere (an upstream's, passed on with
    `Problem.relayed()`, or one made up per occurrence) and may hold anything;
    such a problem is labelled like one without a code, by its status (as
    OpenTelemetry's `error.type` falls back to the status code).
    """
    code = problem.code
    return code if code is not None and code in catalog.problems else str(problem.status)


def record(
    problem: Problem,
    code: str,
    cause: BaseException | None,
    span: Any,
    logged: logging.LogRecord | None,
    rpc: int | None = None,
) -> None:
    """Record one problem response: on `span` (the recording one, or None), on the counter, and to Sentry.

    `logged` is the problem's log record, if one was made (`report`). `rpc` is
    the gRPC status code a gRPC call ends with (None for HTTP): OpenTelemetry's
    RPC conventions' `rpc.grpc.status_code`, on the span and the counter.
    """
    if "sentry_sdk" in sys.modules:
        install_sentry()
        report(logged)
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return
    if span is not None:
        span.set_attribute("error.type", code)
        if rpc is not None:  # the instrumentation's server span says OK (0) until told otherwise
            span.set_attribute("rpc.grpc.status_code", rpc)
        if problem.status >= 500:
            # OpenTelemetry's HTTP conventions: a server span is an error for a 5xx only.
            span.set_status(trace.Status(trace.StatusCode.ERROR, code))
            span.record_exception(cause if cause is not None else problem)
    counter = _instruments.get("problems")
    if counter is None:
        from opentelemetry import metrics

        # Through the global MeterProvider: a proxy until the app sets one, then the app's.
        meter = metrics.get_meter("problemdetails")
        counter = _instruments["problems"] = meter.create_counter(
            "problemdetails.problems", unit="{problem}", description="Problem responses sent, by problem code."
        )
    attributes: dict[str, str | int] = {"problem.code": code, "http.response.status_code": problem.status}
    if rpc is not None:
        attributes["rpc.grpc.status_code"] = rpc
    counter.add(1, attributes)


def relabel(native: MutableMapping[str, Any], status: int) -> None:
    """Put a 5xx problem's code back as `error.type` once its response has started.

    An instrumentation that follows OpenTelemetry's stable HTTP conventions sets
    `error.type` to the status ("500") when it sees a 5xx start (a 4xx is no
    server error there); the code it overrides says more, so it is set again.
    """
    if status < 500 or "opentelemetry.trace" not in sys.modules:
        return
    trace = sys.modules["opentelemetry.trace"]
    exchange = exchange_of(native)
    code = exchange.code if exchange is not None else None
    if code is None:
        return
    try:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("error.type", code)
    except Exception:  # the response is on its way: nothing here may stop it
        return


def install_sentry() -> None:
    """Tag Sentry's events with the request id and problem code (once per process, if Sentry is loaded)."""
    if "sentry" in _instruments or "sentry_sdk" not in sys.modules:
        return
    import sentry_sdk.scope

    sentry_sdk.scope.add_global_event_processor(_process_event)  # type: ignore[arg-type]  # Event is a TypedDict
    _instruments["sentry"] = _process_event


def report(logged: logging.LogRecord | None) -> None:
    """Make a 5xx answer's ERROR record one Sentry event, when Sentry's logging integration would not.

    The contract is Sentry's default integrations and no extra line: each 5xx
    answer is one event. sentry-sdk 2's logging integration made that event of
    the record by default; sentry-sdk 3's is no default integration, and even
    enabled makes events of records only when given an `event_level`. A 5xx
    answer is no crash, so no framework reports it: left to the SDK's default,
    a 503 the app chose, or an exception mapped to one, would reach Sentry in
    no way at all. So the record is made the event here, through the SDK's own
    `EventHandler`, exactly as that integration makes it (its template as
    `logentry`, so one issue per template; the mapped exception and its
    traceback) and as `ignore_logger_for_events` (`ignore_logger` in 2.x)
    silences. When the integration makes it itself, it alone does: one event,
    either way. A crash's 500 record goes too: it carries the exception the
    framework's integration reports, and Sentry's deduplication keeps one of
    the two (where no framework reports it, it is the crash's only event).
    Records under ERROR (4xx answers) stay breadcrumbs or logs, as the SDK
    decides. Never raises: the answer is on its way.
    """
    if logged is None or logged.levelno < logging.ERROR or "sentry_sdk" not in sys.modules:
        return
    try:
        import sentry_sdk
        from sentry_sdk.integrations.logging import EventHandler

        client = sentry_sdk.get_client()
        if client.is_active() and not _records_are_events(client.get_integration("logging"), logged.levelno):
            EventHandler(level=logging.ERROR).handle(logged)
    except Exception:  # an SDK that moved `EventHandler`: no event, but the answer
        pass


def _records_are_events(integration: Any, level: int) -> bool:
    """Whether Sentry's logging integration (None: not enabled) makes an event of a record at `level`."""
    if integration is None:
        return False
    # Its events' handler: `_handler` in sentry-sdk 2, `_event_handler` in 3; None without an `event_level`.
    # Not found (a later SDK): reported here, a duplicate at worst (and none with an exception: deduplicated).
    handler = getattr(integration, "_event_handler", None) or getattr(integration, "_handler", None)
    return isinstance(handler, logging.Handler) and level >= handler.level


def _process_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    """Sentry's event processor: drops a framework's duplicate of a 5xx answer, tags the rest (`_tag_event`)."""
    native: MutableMapping[str, Any] | None = serving.get()
    if native is None:
        return event
    try:
        reported = _reported(event, hint, native)
        if reported is not None and (_reported_by_record(*reported) or _an_answer(*reported)):
            return None
    except Exception:  # a failing `exception_map` function, say: the event stays, tagged
        pass
    return _tag_event(event, hint)


def _reported(
    event: dict[str, Any], hint: dict[str, Any], native: MutableMapping[str, Any]
) -> tuple[BaseException, HandOver] | None:
    """The exception a framework's integration reported in `event`, and the hand-over serving the request.

    None for an event the app captured itself (mechanism `generic`), one made
    of a log record, one without an exception, and one outside a served request.
    """
    exc_info = hint.get("exc_info")
    exchange = exchange_of(native)
    handover = exchange.handover if exchange is not None else None
    if exc_info is None or handover is None or "log_record" in hint:
        return None
    values = event.get("exception", {}).get("values") or [{}]
    mechanism = values[-1].get("mechanism") or {}  # the raised exception's (those it chains come first)
    if mechanism.get("type", "generic") == "generic":
        return None
    return exc_info[1], handover


def _an_answer(exc: BaseException, handover: HandOver) -> bool:
    """Whether an integration's report of `exc` (`_reported`) is one of an answer: a 4xx problem the app meant.

    A problem the app raised with a 4xx status, or an exception its
    `exception_map` maps to one, is how it answers a client: no error, and
    no Sentry event. Most integrations never see one (the hand-over claims it
    first); Sanic's reports every exception its error handler looks up, before
    any handler runs. A framework's own 4xx error (an `HTTPException`) stays
    the integration's to report, as it is told to.
    """
    if isinstance(exc, Problem):
        return exc.received is None and exc.status < 500
    if not isinstance(exc, Exception):
        return False
    problem, mapped = handover.responder.translation(exc)
    return mapped and problem is not None and problem.status < 500


def _tag_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """An event raised inside a request gets its id and problem code as tags."""
    exchange = exchange_of(serving.get())
    if exchange is None:
        return event
    try:
        tags = event.setdefault("tags", {})
        tags.setdefault("request_id", exchange.request_id.decode())
        code = exchange.code  # decided already; else the reporter saw the exception first
        exc_info = hint.get("exc_info")
        handover = exchange.handover
        if code is None and exc_info is not None and handover is not None:
            exc = exc_info[1]
            if isinstance(exc, Problem) and exc.received is None:  # raised as itself: labelled as it will be
                code = label(handover.responder.catalog, exc)
            else:
                code = handover.responder.code_for(exc)
        if isinstance(code, str):
            tags.setdefault("problem.code", code)
    except Exception:  # a processor that raises would lose the event itself
        pass
    return event


def _reported_by_record(exc: BaseException, handover: HandOver) -> bool:
    """Whether an integration's report of `exc` (`_reported`) is one of an exception answered with a 5xx problem.

    Every problem response is decided once, and a 5xx one is logged at ERROR:
    that record is its Sentry event (the logging integration's), on every
    framework, grouped by its message template like a 5xx problem raised on
    purpose, with the exception and traceback when one was mapped to it.
    Some framework integrations report the exception too, as it is raised:
    Starlette's (FastAPI's too) every `HTTPException`, and every handled
    exception, with a 5xx `status_code` (its `failed_request_status_codes`).
    That report is the duplicate dropped, rather than the record: the record
    is there for every 5xx answer, whichever hook saw it, and is an event on
    every SDK (`report`), so the same answer is one same-looking event on
    every framework.

    Only a duplicate goes: a 4xx answer has no ERROR record (an integration
    told to report some 4xx still does); a crash is no answer (Sentry's
    deduplication keeps the integration's event, with the exception); an event
    the app captured itself (mechanism `generic`) stays; and so does every
    event when the record cannot become one (the `problemdetails` logger off
    at ERROR). `ignore_logger_for_events("problemdetails")` (sentry-sdk 2:
    `ignore_logger`), the documented switch, silences them all alike. Cheap: it
    reads only events with an exception, raised inside a served request.
    """
    problem: Problem | None
    if isinstance(exc, Problem):
        problem, mapped = exc, False
    elif isinstance(exc, Exception):
        problem, mapped = handover.responder.translation(exc)
    else:
        return False
    # A problem received from another service and raised unchanged is answered with the 502.
    if problem is None or (problem.status < 500 and problem.received is None):
        return False
    if not handover.responder.logger.isEnabledFor(logging.ERROR):
        return False
    # The record carries this same exception, and Sentry's deduplication (registered at `init`, before
    # this processor) has just remembered it: it would drop the record as this event's duplicate.
    return not mapped or _forget(exc)


def _forget(exc: BaseException) -> bool:
    """Make Sentry's deduplication forget it has just seen `exc`; False when this SDK's way is unknown.

    sentry-sdk 2 remembers the last exception and forgets it with
    `DedupeIntegration.reset_last_seen()`, as it does for an event its
    `before_send` drops; sentry-sdk 3 marks the exception itself
    (`_handled_by_sentry`) and has no such call, so the mark is taken off.
    An unknown way keeps the framework's event instead, and deduplication
    drops the record: one event still.
    """
    import sentry_sdk
    from sentry_sdk.integrations.dedupe import DedupeIntegration

    if sentry_sdk.get_client().get_integration("dedupe") is None:
        return True  # nothing remembered
    forget = getattr(DedupeIntegration, "reset_last_seen", None)
    if forget is not None:
        forget()
        return True
    if getattr(exc, "_handled_by_sentry", False):
        del exc.__dict__["_handled_by_sentry"]
        return True
    return False
