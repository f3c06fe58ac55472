"""`REELSCOPE_TELEMETRY_PROVIDERS=global`: init_telemetry uses the SDK providers another party (the
OpenTelemetry agent) installed globally, instead of installing its own. Each case runs in a fresh interpreter:
global providers can be set only once per process."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

AGENT_LIKE = """
import json, logging
from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

spans, reader, logs = InMemorySpanExporter(), InMemoryMetricReader(), InMemoryLogRecordExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
logger_provider = LoggerProvider()
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
trace.set_tracer_provider(tracer_provider)
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
_logs.set_logger_provider(logger_provider)

from reelscope_telemetry import get_logger, init_telemetry
telemetry = init_telemetry("svc")
with telemetry.tracer.start_as_current_span("step"):
    get_logger("svc").info("inside the step")
telemetry.instruments.upload_size.record(1234)
names = [m.name for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
print(json.dumps({
    "same_tracer_provider": telemetry.tracer_provider is tracer_provider,
    "same_logger_provider": telemetry.logger_provider is logger_provider,
    "spans": [s.name for s in spans.get_finished_spans()],
    "logs": [r.log_record.body for r in logs.get_finished_logs()],
    "metrics": names,
}))
"""


def _python(code: str, providers: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"REELSCOPE_TELEMETRY_PROVIDERS": providers, "OTEL_SDK_DISABLED": "false"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_global_providers_are_used_not_replaced() -> None:
    """Spans, log records and metrics of our tracer, logger and instruments reach the providers installed
    before init_telemetry, which hands those same providers back (for shutdown)."""
    done = _python(AGENT_LIKE, "global")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["same_tracer_provider"]
    assert seen["same_logger_provider"]
    assert seen["spans"] == ["step"]
    assert "inside the step" in seen["logs"]
    assert "reelscope.upload.size" in seen["metrics"]


def test_global_without_an_installed_sdk_refuses_to_start() -> None:
    """With no SDK installed globally the switch would silently report nothing: init_telemetry refuses."""
    done = _python("from reelscope_telemetry import init_telemetry; init_telemetry('svc')", "global")
    assert done.returncode != 0
    assert "no OpenTelemetry SDK is installed globally" in done.stderr


def test_an_unknown_value_is_refused() -> None:
    """A misspelt switch is an error at start-up, not a silent fallback to our own providers."""
    done = _python("from reelscope_telemetry import init_telemetry; init_telemetry('svc')", "agent")
    assert done.returncode != 0
    assert "REELSCOPE_TELEMETRY_PROVIDERS must be own or global" in done.stderr
