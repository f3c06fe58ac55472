"""OTLP exporters chosen by the standard `OTEL_EXPORTER_OTLP_*PROTOCOL` variables, and the metric readers
chosen by the standard `OTEL_METRICS_EXPORTER`.

The exporters themselves read endpoint, headers, timeout and compression from the standard variables;
we only pick gRPC or HTTP/protobuf (the spec's default) per signal.
"""

import os
from dataclasses import dataclass, field
from typing import Literal

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace.export import SpanExporter

from reelscope_telemetry._prometheus import PrometheusEndpoint

Signal = Literal["traces", "metrics", "logs"]


def _protocol(signal: Signal) -> str:
    return os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL",
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ).strip()


def span_exporter() -> SpanExporter:
    """The OTLP span exporter for the configured protocol."""
    if _protocol("traces") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans

        return GrpcSpans()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans

    return HttpSpans()


def metric_exporter() -> MetricExporter:
    """The OTLP metric exporter for the configured protocol (cumulative temporality, as Prometheus wants)."""
    if _protocol("metrics") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics

        return GrpcMetrics()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics

    return HttpMetrics()


def log_exporter() -> LogRecordExporter:
    """The OTLP log exporter for the configured protocol."""
    if _protocol("logs") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs

        return GrpcLogs()
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs

    return HttpLogs()


METRICS_EXPORTERS = ("otlp", "prometheus", "none")


def metrics_exporter_names() -> list[str]:
    """`OTEL_METRICS_EXPORTER`, comma-separated (default `otlp`); an unknown name or `none` beside another is
    refused at start-up rather than leaving a service silently without metrics."""
    raw = os.environ.get("OTEL_METRICS_EXPORTER", "").strip() or "otlp"
    names = list(dict.fromkeys(name.strip().lower() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in METRICS_EXPORTERS]
    if unknown:
        known = ", ".join(METRICS_EXPORTERS)
        raise ValueError(f"OTEL_METRICS_EXPORTER: unknown exporter {', '.join(unknown)} (known: {known})")
    if "none" in names and len(names) > 1:
        raise ValueError(f"OTEL_METRICS_EXPORTER: `none` cannot be combined with other exporters ({raw!r})")
    return [] if names == ["none"] else names


@dataclass
class MetricReaders:
    """The readers to give the meter provider, and the `/metrics` server to stop at shutdown, if any."""

    readers: list[MetricReader] = field(default_factory=list)
    prometheus: PrometheusEndpoint | None = None


def metric_readers() -> MetricReaders:
    """One reader per name in `OTEL_METRICS_EXPORTER`: OTLP pushes periodically, `prometheus` starts the
    scrape endpoint (`OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`), `none` gives no reader at all."""
    chosen = MetricReaders()
    for name in metrics_exporter_names():
        if name == "otlp":
            chosen.readers.append(PeriodicExportingMetricReader(metric_exporter()))
        else:
            chosen.prometheus = PrometheusEndpoint.from_env()
            chosen.readers.append(chosen.prometheus.reader)
    return chosen
