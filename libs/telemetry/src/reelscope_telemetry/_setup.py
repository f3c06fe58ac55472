"""`init_telemetry`: build the three SDK providers from the standard env vars, once, and shut them down
within a bounded time even when the collector is unreachable."""

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry import _logs, metrics, trace
from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor
from opentelemetry.metrics import Meter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer

from reelscope_telemetry import _exporters
from reelscope_telemetry._job import JobIdSpanProcessor
from reelscope_telemetry._logging import configure_logging
from reelscope_telemetry._prometheus import PrometheusEndpoint
from reelscope_telemetry._redact_export import RedactingLogRecordProcessor, RedactingSpanExporter
from reelscope_telemetry._resource import build_resource
from reelscope_telemetry.instruments import Instruments, create_instruments

INSTRUMENTATION_SCOPE = "reelscope"


@dataclass
class Telemetry:
    """Handles to a configured process: tracer, meter, instruments, and the providers to shut down."""

    service_name: str
    resource: Resource
    tracer: Tracer
    meter: Meter
    instruments: Instruments
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: LoggerProvider | None = None
    prometheus: PrometheusEndpoint | None = None
    """The `/metrics` endpoint, when `OTEL_METRICS_EXPORTER` names `prometheus`."""
    _shut_down: bool = field(default=False, repr=False)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush and stop every provider in parallel; return after `timeout_s` at the latest."""
        if self._shut_down:
            return
        self._shut_down = True
        deadline = time.monotonic() + timeout_s
        workers = [
            threading.Thread(target=provider.shutdown, name=f"otel-shutdown-{i}", daemon=True)
            for i, provider in enumerate((self.tracer_provider, self.meter_provider, self.logger_provider))
            if provider is not None
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if self.prometheus is not None:
            self.prometheus.close()


def sdk_disabled() -> bool:
    """`OTEL_SDK_DISABLED=true` turns every signal into a no-op (logs still reach stdout)."""
    return os.environ.get("OTEL_SDK_DISABLED", "false").strip().lower() == "true"


def use_global_providers() -> bool:
    """`REELSCOPE_TELEMETRY_PROVIDERS=global`: another SDK (the OpenTelemetry agent, `opentelemetry-instrument`)
    has already installed the global providers; ours step aside (the API overhead benchmark measures the agent)."""
    value = os.environ.get("REELSCOPE_TELEMETRY_PROVIDERS", "own").strip().lower()
    if value not in ("own", "global"):
        raise ValueError(f"REELSCOPE_TELEMETRY_PROVIDERS must be own or global, not {value!r}")
    return value == "global"


def global_telemetry(service_name: str) -> Telemetry:
    """Handles on the SDK providers someone else installed globally; refuses to start when there are none
    (the process would silently report nothing)."""
    tracer_provider, meter_provider = trace.get_tracer_provider(), metrics.get_meter_provider()
    logger_provider = _logs.get_logger_provider()
    if not isinstance(tracer_provider, TracerProvider) or not isinstance(meter_provider, MeterProvider):
        raise RuntimeError(
            "REELSCOPE_TELEMETRY_PROVIDERS=global but no OpenTelemetry SDK is installed globally "
            "(start the process under opentelemetry-instrument)"
        )
    sdk_logs = logger_provider if isinstance(logger_provider, LoggerProvider) else None
    configure_logging(service_name, sdk_logs)  # replaces the agent's root handler by ours, on the same provider
    meter = meter_provider.get_meter(INSTRUMENTATION_SCOPE)
    return Telemetry(
        service_name=service_name,
        resource=tracer_provider.resource,
        tracer=tracer_provider.get_tracer(INSTRUMENTATION_SCOPE),
        meter=meter,
        instruments=create_instruments(meter),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=sdk_logs,
    )


def build_telemetry(
    service_name: str,
    *,
    distribution: str,
    span_exporter: SpanExporter,
    metric_readers: Sequence[MetricReader],
    log_exporter: LogRecordExporter,
    synchronous: bool = False,
) -> Telemetry:
    """Assemble providers around the given exporters (the seam `testing` uses for in-memory capture)."""
    resource = build_resource(service_name, distribution)
    # Shut down explicitly (bounded) via Telemetry.shutdown, not by unbounded atexit hooks.
    tracer_provider = TracerProvider(
        resource=resource, shutdown_on_exit=False
    )  # sampler from OTEL_TRACES_SAMPLER(_ARG)
    tracer_provider.add_span_processor(JobIdSpanProcessor())
    span_exporter = RedactingSpanExporter(span_exporter)  # secrets masked before anything leaves (_redact)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(span_exporter) if synchronous else BatchSpanProcessor(span_exporter)
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=list(metric_readers), shutdown_on_exit=False)
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(RedactingLogRecordProcessor())  # first: the exporter sees it masked
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(log_exporter) if synchronous else BatchLogRecordProcessor(log_exporter)
    )
    meter = meter_provider.get_meter(INSTRUMENTATION_SCOPE)
    return Telemetry(
        service_name=service_name,
        resource=resource,
        tracer=tracer_provider.get_tracer(INSTRUMENTATION_SCOPE),
        meter=meter,
        instruments=create_instruments(meter),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )


def exporting_telemetry(service_name: str, distribution: str) -> Telemetry:
    """`build_telemetry` around the exporters the standard variables choose (OTLP, and the metric readers of
    `OTEL_METRICS_EXPORTER`); not global, so benchmarks measure exactly what `init_telemetry` installs."""
    readers = _exporters.metric_readers()
    telemetry = build_telemetry(
        service_name,
        distribution=distribution,
        span_exporter=_exporters.span_exporter(),
        metric_readers=readers.readers,
        log_exporter=_exporters.log_exporter(),
    )
    telemetry.prometheus = readers.prometheus
    return telemetry


def init_telemetry(service_name: str, *, distribution: str | None = None) -> Telemetry:
    """Configure traces, metrics and logs for this process from the standard `OTEL_*` variables.

    Call once, first thing in a service's entry point; it sets the global providers, so libraries
    instrumented later (FastAPI, httpx) report through them. Under the OpenTelemetry agent, set
    `REELSCOPE_TELEMETRY_PROVIDERS=global`: the agent's providers are used instead (`global_telemetry`).
    """
    distribution = distribution or f"reelscope-{service_name}"
    # Stable HTTP semantic conventions (http.server.request.duration in seconds, http.response.status_code)
    # for every instrumentation; they read this once, when they instrument, so it is set before that.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    if sdk_disabled():
        configure_logging(service_name, None)
        meter = metrics.get_meter(INSTRUMENTATION_SCOPE)
        return Telemetry(
            service_name=service_name,
            resource=Resource.get_empty(),
            tracer=trace.get_tracer(INSTRUMENTATION_SCOPE),
            meter=meter,
            instruments=create_instruments(meter),
        )
    if use_global_providers():
        return global_telemetry(service_name)
    telemetry = exporting_telemetry(service_name, distribution)
    if not (telemetry.tracer_provider and telemetry.meter_provider and telemetry.logger_provider):
        raise RuntimeError("build_telemetry returned no providers")
    trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)
    _logs.set_logger_provider(telemetry.logger_provider)
    configure_logging(service_name, telemetry.logger_provider)
    instrument_process_metrics(telemetry.meter_provider)
    return telemetry


PROCESS_METRICS: dict[str, list[str] | None] = {
    "process.cpu.time": ["user", "system"],
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.thread.count": None,
    "process.open_file_descriptor.count": None,
}
"""The process's own semantic-convention metrics (no system-wide ones: those belong to the node's collector).
Observed at every export, so an idle service still reports (its `target_info` stays, ReelscopeServiceDown
stays quiet) and a worker's memory growth is on the dashboards."""


def instrument_process_metrics(meter_provider: MeterProvider) -> None:
    """Report `PROCESS_METRICS` through `meter_provider` (the instrumentation's own library, not ours)."""
    SystemMetricsInstrumentor(config=PROCESS_METRICS).instrument(meter_provider=meter_provider)
