"""OTLP exporters chosen by the standard `OTEL_EXPORTER_OTLP_*PROTOCOL` variables.

The exporters themselves read endpoint, headers, timeout and compression from the standard variables;
we only pick gRPC or HTTP/protobuf (the spec's default) per signal.
"""

import os
from typing import Literal

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.trace.export import SpanExporter

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
