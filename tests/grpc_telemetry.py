"""Run in a child process (the SDK's providers are global, the instrumentation patches grpcio for good).

`python -m tests.grpc_telemetry sync|aio` serves `tests/grpc_service.py` with
opentelemetry-instrumentation-grpc's server instrumentation (its interceptor
outside `ProblemInterceptor`, as grpcio is patched to put it), the SDK's
in-memory exporters as the global providers, and prints JSON: for each of
`ok`, `conflict` and `crash` (a `Get` call), the server span's attributes,
status and exception events, and the trace id on the problem's log record;
then the `problemdetails.problems` counter's points.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer, GrpcInstrumentorServer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

SPANS = InMemorySpanExporter()
METRICS = InMemoryMetricReader()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def server_spans() -> list[Any]:
    """The finished server spans, waited for: the server ends its span after the client has the status."""
    for _ in range(500):
        spans = [span for span in SPANS.get_finished_spans() if span.kind == SpanKind.SERVER]
        if spans:
            return spans
        time.sleep(0.01)
    return []


def main(flavor: str) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[METRICS]))
    GrpcInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    records = Records()
    logger = logging.getLogger("problemdetails")
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the crash's traceback stays out of the parent's output

    from problemdetails.grpc import AsyncProblemInterceptor, ProblemInterceptor
    from tests.grpc_service import CATALOG, EXCEPTION_MAP, invoke, serve

    interceptor = (ProblemInterceptor if flavor == "sync" else AsyncProblemInterceptor)(
        CATALOG, exception_map=EXCEPTION_MAP
    )
    seen: dict[str, Any] = {}
    with serve(flavor, [interceptor]) as channel:
        for what in ("ok", "conflict", "crash"):
            SPANS.clear()
            records.records.clear()
            invoke(channel, "Get", what)
            (span,) = server_spans()
            attributes = dict(span.attributes or {})
            assert span.context is not None
            seen[what] = {
                "span": {
                    **{key: attributes[key] for key in ("error.type", "rpc.grpc.status_code") if key in attributes},
                    "status": span.status.status_code.name,
                    "events": [str((event.attributes or {}).get("exception.type")) for event in span.events],
                    "trace_id": format(span.context.trace_id, "032x"),
                },
                "trace_id": next((record.__dict__.get("trace_id") for record in records.records), None),
            }
    counter: list[dict[str, Any]] = []
    data = METRICS.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "problemdetails.problems":
                    for point in metric.data.data_points:
                        assert isinstance(point, NumberDataPoint)
                        counter.append({**dict(point.attributes or {}), "count": point.value})
    seen["counter"] = sorted(counter, key=lambda point: str(point["problem.code"]))
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
