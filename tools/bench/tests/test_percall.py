"""The per-call statistics and the stdout redirection the in-process benchmarks rely on."""

import json
import logging
import os

import pytest
from reelscope_bench.otlp_sink import OtlpSink
from reelscope_bench.percall import measure, per_call, stdout_to_devnull
from reelscope_bench.telemetry_cost import JOB_ID, SeedJsonFormatter, service_pipeline

pytestmark = pytest.mark.unit


def test_per_call_is_the_median_batch_over_its_calls() -> None:
    """Batches of 1000 calls taking 2, 3 and 50 ms give 3 µs per call (the slow batch is the max, not the figure)."""
    result = per_call([2_000_000, 50_000_000, 3_000_000], 1000)
    assert result.median_us == 3.0
    assert result.min_us == 2.0
    assert result.max_us == 50.0
    assert result.batches == 3


def test_per_call_refuses_empty_input() -> None:
    """No batch or no call per batch is an error, not a division by zero or a 0 µs figure."""
    with pytest.raises(ValueError, match="at least one"):
        per_call([], 10)
    with pytest.raises(ValueError, match="at least one"):
        per_call([1000], 0)


def test_measure_makes_every_call_it_reports() -> None:
    """Warm-up plus batches times calls is the number of calls made, and each took a positive time."""
    made: list[None] = []
    result = measure(lambda: made.append(None), calls=50, batches=3, warmup=7)
    assert len(made) == result.emitted() == 157
    assert result.median_us > 0
    assert result.cpu_us is not None


def test_stdout_to_devnull_swallows_fd_1_and_restores_it(capfd: pytest.CaptureFixture[str]) -> None:
    """What is written to fd 1 inside the block goes nowhere; after it, fd 1 is the old one again."""
    with stdout_to_devnull():
        os.write(1, b"hidden\n")
    os.write(1, b"shown\n")
    assert capfd.readouterr().out == "shown\n"


def test_seed_formatter_writes_one_json_object_with_the_extras() -> None:
    """The seeds' way renders the record's own fields and every `extra` into one JSON line."""
    record = logging.LogRecord("jobs", logging.INFO, __file__, 1, "rendition %s", ("written",), None)
    record.job_id = JOB_ID
    line = json.loads(SeedJsonFormatter().format(record))
    assert line["message"] == "rendition written"
    assert line["level"] == "INFO"
    assert line["job_id"] == JOB_ID
    assert "args" not in line


def test_service_pipeline_exports_to_the_sink_and_restores_logging() -> None:
    """Our measured pipeline really ships its log lines over OTLP, and leaves the root logger as it found it."""
    root_handlers = list(logging.getLogger().handlers)
    with OtlpSink() as sink:
        with service_pipeline(sink.endpoint), stdout_to_devnull():
            for _ in range(5):
                logging.getLogger("bench.test").warning("one line")
        counts = sink.counts()
    assert counts["logs"] == 5
    assert logging.getLogger().handlers == root_handlers
