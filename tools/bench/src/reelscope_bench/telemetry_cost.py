"""What one log line, one span and one histogram record cost the code that emits them, in µs per call.

Ours is measured exactly as a service runs it: `exporting_telemetry` (what `init_telemetry` installs, minus the
globals) with real OTLP/HTTP exporters posting to a listening stand-in collector in another process, and
`configure_logging` — so a log line pays the structlog chain, the JSON rendering to stdout (fd 1, sent to
/dev/null while measuring), redaction, the OTLP record and its enqueue into the batch processor, and
the batch thread's encoding and posting competes for the interpreter as it does in production.
The comparison is the seeds' way: a stdlib `logging.Formatter` doing `json.dumps` of the record's fields onto
a StreamHandler (no OTLP at all). No-op baselines (stdout only, no-op tracer and meter) are context.
"""

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from opentelemetry import metrics, trace
from reelscope_telemetry import attributes, get_logger, job_scope
from reelscope_telemetry._logging import configure_logging
from reelscope_telemetry._setup import Telemetry, exporting_telemetry
from reelscope_telemetry.instruments import create_instruments

from reelscope_bench.otlp_sink import OtlpSink
from reelscope_bench.percall import PerCall, measure, stdout_to_devnull
from reelscope_bench.report import Section, at_most

SERVICE = "bench-telemetry"
JOB_ID = "3f0c2a9e-5b1d-4c6e-9a7f-1d2e3c4b5a69"
LOG_TARGET_US = 25.0
# A job's typical line: the event, a stage, a rendition, a number, a path (what workers log per step).
FIELDS: dict[str, Any] = {
    "stage": "transcode",
    "rendition": "720p",
    "duration_s": 12.75,
    "output": "renditions/720p.mp4",
}
STAGE_ATTRIBUTES = {attributes.STAGE: "transcode", attributes.STAGE_OUTCOME: "succeeded"}

_STANDARD_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class SeedJsonFormatter(logging.Formatter):
    """The seeds' formatter, rewritten: fixed fields of the record plus every `extra`, through `json.dumps`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "module": record.module,
            "function": record.funcName,
            "line": record.lineno,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        entry.update((k, v) for k, v in vars(record).items() if k not in _STANDARD_RECORD_FIELDS)
        return json.dumps(entry, default=str)


def seed_logger() -> logging.Logger:
    """A non-propagating stdlib logger with the seeds' JSON formatter on a stdout StreamHandler."""
    logger = logging.getLogger("reelscope_bench.seed_way")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(SeedJsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _logging_restored() -> Iterator[None]:
    """Put structlog's configuration and the root logger back as they were (the caller's process goes on)."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**config)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


@contextmanager
def service_pipeline(endpoint: str) -> Iterator[Telemetry]:
    """Our pipeline as a service on the local stack gets it (service_env's OTEL_* values), OTLP to `endpoint`."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "3000",
        "OTEL_BSP_SCHEDULE_DELAY": "500",
        "OTEL_BLRP_SCHEDULE_DELAY": "500",
        "OTEL_METRIC_EXPORT_INTERVAL": "5000",
        "OTEL_METRICS_EXPORTER": "otlp",
    }
    with _environ(env), _logging_restored():
        telemetry = exporting_telemetry(SERVICE, "reelscope-telemetry")
        configure_logging(SERVICE, telemetry.logger_provider, log_format="json", level="INFO")
        try:
            yield telemetry
        finally:
            telemetry.shutdown(timeout_s=10)


def _in_job(telemetry_tracer: trace.Tracer, call: Callable[[], object]) -> Callable[[], PerCall]:
    """Measure `call` inside a job's span and scope, where workers log (trace ids and job_id on every line)."""

    def run() -> PerCall:
        with telemetry_tracer.start_as_current_span("bench job"), job_scope(JOB_ID):
            return measure(call)

    return run


def _ours(sink: OtlpSink) -> dict[str, Any]:
    with service_pipeline(sink.endpoint) as telemetry:
        log = get_logger("reelscope_bench.job")
        tracer = telemetry.tracer
        histogram = telemetry.instruments.stage_duration

        def log_line() -> None:
            log.info("rendition written", **FIELDS)

        def span() -> None:
            with tracer.start_as_current_span("ffmpeg.transcode", attributes={attributes.RENDITION: "720p"}):
                pass

        def record() -> None:
            histogram.record(12.75, STAGE_ATTRIBUTES)

        with stdout_to_devnull():
            log_cost = _in_job(tracer, log_line)()
            span_cost = _in_job(tracer, span)()
            histogram_cost = measure(record)
        emitted = log_cost.emitted()
        spans_emitted = span_cost.emitted() + 2  # plus the two "bench job" parents
    counts = sink.counts()
    return {
        "log_line": log_cost.figures() | {"exported": counts["logs"], "emitted": emitted},
        "span": span_cost.figures() | {"exported": counts["spans"], "emitted": spans_emitted},
        "histogram_record": histogram_cost.figures(),
    }


def _seeds() -> PerCall:
    logger = seed_logger()
    extra = {"job_id": JOB_ID, **FIELDS}

    def log_line() -> None:
        logger.info("rendition written", extra=extra)

    with stdout_to_devnull():
        return measure(log_line)


def _no_op() -> dict[str, Any]:
    """OTEL_SDK_DISABLED-style: JSON to stdout only, no-op tracer and meter."""
    with _logging_restored():
        configure_logging(SERVICE, None, log_format="json", level="INFO")
        log = get_logger("reelscope_bench.job")
        tracer = trace.NoOpTracer()
        histogram = create_instruments(metrics.NoOpMeter("reelscope")).stage_duration

        def log_line() -> None:
            log.info("rendition written", **FIELDS)

        def span() -> None:
            with tracer.start_as_current_span("ffmpeg.transcode", attributes={attributes.RENDITION: "720p"}):
                pass

        with stdout_to_devnull(), job_scope(JOB_ID):
            return {
                "log_line_stdout_only": measure(log_line).figures(),
                "span": measure(span).figures(),
                "histogram_record": measure(lambda: histogram.record(12.75, STAGE_ATTRIBUTES)).figures(),
            }


def run() -> Section:
    """The telemetry section: µs per call of ours, the seeds' way and no-op; about half a minute, no stack."""
    with OtlpSink() as sink:
        ours = _ours(sink)
    seeds = _seeds()
    ratio = ours["log_line"]["us_per_call"] / seeds.median_us
    figures = {
        "ours": ours,
        "seeds_log_line": seeds.figures(),
        "log_line_ratio_ours_vs_seeds": round(ratio, 3),
        # Process CPU per line, both threads: steadier than wall time when other processes share the machine.
        "log_line_cpu_ratio_ours_vs_seeds": round(ours["log_line"]["cpu_us_per_call"] / (seeds.cpu_us or 1), 3),
        "no_op": _no_op(),
    }
    return Section(
        name="telemetry",
        title="Telemetry cost per call",
        figures=figures,
        targets=[
            at_most("ours.log_line.us_per_call", ours["log_line"]["us_per_call"], LOG_TARGET_US),
            at_most("log_line_ratio_ours_vs_seeds", ratio, 1.0),
        ],
    )


if __name__ == "__main__":
    print(json.dumps(run().to_json(), indent=2))
