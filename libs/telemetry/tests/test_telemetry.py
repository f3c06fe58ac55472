"""The telemetry library with in-memory exporters: propagation, log fields, resource, shutdown."""

import logging
import subprocess
import sys
import time

import pytest
from opentelemetry.trace import SpanKind
from reelscope_telemetry import consumer_span, get_logger, job_scope, producer_span
from reelscope_telemetry.testing import capture_telemetry

pytestmark = pytest.mark.unit


def test_propagation_round_trip_makes_consumer_child_of_producer() -> None:
    """Headers written by a PRODUCER span give the CONSUMER span the same trace and the producer as parent."""
    with capture_telemetry("svc") as cap:
        headers: dict[str, object] = {}
        with (
            job_scope("job-1"),
            producer_span(
                cap.telemetry.tracer, exchange="ex", routing_key="job.x", message_id="m1", body_size=10, headers=headers
            ),
        ):
            pass
        # AMQP may hand header values back as bytes.
        received = {k: v.encode() if isinstance(v, str) else v for k, v in headers.items()}
        with consumer_span(
            cap.telemetry.tracer,
            headers=received,
            exchange="ex",
            routing_key="job.x",
            queue="q",
            message_id="m1",
            body_size=10,
            job_id="job-1",
        ):
            pass
        producer, consumer = cap.spans()
    assert "traceparent" in headers
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.attributes["messaging.destination.name"] == "ex:job.x:q"
    assert producer.attributes["messaging.operation.type"] == "send"
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert producer.attributes["reelscope.job.id"] == consumer.attributes["reelscope.job.id"] == "job-1"


def test_consumer_without_context_starts_a_new_trace() -> None:
    """A message without traceparent (a foreign publisher) gives a root span, not a broken parent."""
    with capture_telemetry() as cap:
        with consumer_span(
            cap.telemetry.tracer,
            headers={},
            exchange="ex",
            routing_key="k",
            queue="q",
            message_id=None,
            body_size=0,
            job_id=None,
        ):
            pass
        (span,) = cap.spans()
    assert span.parent is None


def test_job_scope_tags_child_spans_and_log_lines() -> None:
    """Spans started inside a job scope, and log lines in it, carry the job id; outside they do not."""
    with capture_telemetry("transcode") as cap:
        log = get_logger("test")
        with (
            cap.telemetry.tracer.start_as_current_span("parent"),
            job_scope("job-7"),
            cap.telemetry.tracer.start_as_current_span("child"),
        ):
            log.info("inside", size=3)
            logging.getLogger("third.party").warning("stdlib line")
        log.info("outside")
        spans = {s.name: s for s in cap.spans()}
        lines = cap.stdout_lines()
        records = cap.log_records()
    assert spans["child"].attributes["reelscope.job.id"] == "job-7"
    assert spans["parent"].attributes["reelscope.job.id"] == "job-7"
    inside, stdlib, outside = lines
    child_ctx = spans["child"].context
    assert inside["job_id"] == "job-7"
    assert inside["trace_id"] == format(child_ctx.trace_id, "032x")
    assert inside["span_id"] == format(child_ctx.span_id, "016x")
    assert inside["service"] == "transcode"
    assert inside["size"] == 3
    assert stdlib["job_id"] == "job-7"
    assert stdlib["logger"] == "third.party"
    assert "job_id" not in outside
    assert "trace_id" not in outside
    otlp_inside = records[0].log_record
    assert otlp_inside.body == "inside"
    assert otlp_inside.attributes is not None
    assert otlp_inside.attributes["job_id"] == "job-7"
    assert otlp_inside.trace_id == child_ctx.trace_id
    assert records[1].log_record.attributes["job_id"] == "job-7"  # type: ignore[index]


def test_reserved_log_keys_are_renamed_not_fatal() -> None:
    """A key that clashes with a LogRecord field (`name`) is kept as `name_` instead of raising."""
    with capture_telemetry() as cap:
        get_logger("t").info("clash", name="x", message="y")
        (line,) = cap.stdout_lines()
    assert line["name_"] == "x"
    assert line["message_"] == "y"


def test_tracebacks_in_log_lines_carry_frames_but_never_local_variables() -> None:
    """A logged exception shows where it happened, not the values of local variables (which may hold secrets)."""
    log = get_logger("locals-test")
    with capture_telemetry() as cap:
        amqp_url = "amqp://user:s3cr3t-pa55@broker/"  # noqa: F841 - a local a traceback could show
        try:
            raise ConnectionError("broker unreachable")
        except ConnectionError:
            log.exception("publish failed")
        (line,) = cap.stdout_lines()
    (exception,) = line["exception"]
    assert exception["exc_type"] == "ConnectionError"
    assert exception["frames"][0]["name"] == "test_tracebacks_in_log_lines_carry_frames_but_never_local_variables"
    assert "s3cr3t-pa55" not in str(line)
    assert all("locals" not in frame for frame in exception["frames"])


def test_resource_carries_service_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """service.name, version, instance id and environment are set; OTEL_RESOURCE_ATTRIBUTES wins."""
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging,team=media")
    with capture_telemetry("ingest") as cap:
        attributes = cap.telemetry.resource.attributes
    assert attributes["service.name"] == "ingest"
    assert attributes["service.version"]
    assert attributes["service.instance.id"]
    assert attributes["deployment.environment.name"] == "staging"
    assert attributes["team"] == "media"


def test_histograms_use_unit_sized_buckets() -> None:
    """Seconds histograms get second-sized buckets, not the SDK's millisecond defaults."""
    with capture_telemetry() as cap:
        cap.telemetry.instruments.job_duration.record(42.0, {"reelscope.job.outcome": "completed"})
        (point,) = cap.metric_points("reelscope.job.duration")
    assert 30 in point.explicit_bounds
    assert 60 in point.explicit_bounds
    assert point.bucket_counts[list(point.explicit_bounds).index(60)] == 1


SHUTDOWN_SCRIPT = """
import time
from reelscope_telemetry import get_logger, init_telemetry
t = init_telemetry("shutdown-test")
with t.tracer.start_as_current_span("work"):
    get_logger("x").info("line")
t.instruments.jobs_submitted.add(1)
started = time.monotonic()
t.shutdown(timeout_s=3.0)
print(f"shutdown_s={time.monotonic() - started:.2f}")
"""


def test_shutdown_is_bounded_when_collector_is_unreachable() -> None:
    """With nothing listening at the OTLP endpoint, shutdown still returns within its time bound."""
    env = {
        "PATH": "/usr/bin:/bin",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",  # discard port: nothing listens
        "OTEL_EXPORTER_OTLP_TIMEOUT": "10000",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SHUTDOWN_SCRIPT], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    reported = float(result.stdout.split("shutdown_s=")[1].split()[0])
    assert reported < 4.0
    assert elapsed < 30


def test_shutdown_flushes_pending_spans_and_logs() -> None:
    """Shutting down exports what was still buffered (batch processors) before returning."""
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from reelscope_telemetry._setup import build_telemetry

    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    telemetry = build_telemetry(
        "flush",
        distribution="reelscope-telemetry",
        span_exporter=spans,
        metric_readers=[InMemoryMetricReader()],
        log_exporter=logs,
        synchronous=False,
    )
    with telemetry.tracer.start_as_current_span("buffered"):
        pass
    assert spans.get_finished_spans() == ()  # still in the batch processor's queue
    telemetry.shutdown(timeout_s=5)
    assert [s.name for s in spans.get_finished_spans()] == ["buffered"]
