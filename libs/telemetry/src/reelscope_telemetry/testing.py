"""In-memory capture of every signal, for tests (like `structlog.testing.capture_logs`).

Spans and logs export synchronously, so a test can assert right after the code under test ran.
"""

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from reelscope_telemetry._logging import configure_logging
from reelscope_telemetry._setup import Telemetry, build_telemetry


@dataclass
class CapturedTelemetry:
    """A `Telemetry` whose spans, metrics, OTLP log records and stdout lines stay in memory."""

    telemetry: Telemetry
    span_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    log_exporter: InMemoryLogRecordExporter
    stdout: io.StringIO

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.span_exporter.get_finished_spans()

    def log_records(self) -> tuple[ReadableLogRecord, ...]:
        return self.log_exporter.get_finished_logs()

    def stdout_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written to stdout so far, parsed."""
        return [json.loads(line) for line in self.stdout.getvalue().splitlines() if line.strip()]

    def metric_points(self, name: str) -> list[Any]:
        """All data points of metric `name` collected right now."""
        data = self.metric_reader.get_metrics_data()
        points: list[Any] = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def clear(self) -> None:
        self.span_exporter.clear()
        self.log_exporter.clear()
        self.stdout.seek(0)
        self.stdout.truncate()


@contextmanager
def capture_telemetry(service_name: str = "test-service") -> Iterator[CapturedTelemetry]:
    """Configure an in-memory telemetry pipeline (not global) and logging into it; shut down after."""
    spans = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # SDK leaves __init__ unannotated
    telemetry = build_telemetry(
        service_name,
        distribution="reelscope-telemetry",
        span_exporter=spans,
        metric_readers=[reader],
        log_exporter=logs,
        synchronous=True,
    )
    stdout = io.StringIO()
    configure_logging(service_name, telemetry.logger_provider, log_format="json", stream=stdout)
    try:
        yield CapturedTelemetry(telemetry, spans, reader, logs, stdout)
    finally:
        telemetry.shutdown()
