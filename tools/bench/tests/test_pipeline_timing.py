"""The pipeline benchmark's reduction of a job trace: media time counted once, orchestration split by service
and by broker waits; and the nearest-rank percentile every benchmark reports."""

import pytest
from reelscope_bench.pipeline import job_timing
from reelscope_bench.report import Section, at_least, at_most, targets_table
from reelscope_cli.load_report import percentile
from reelscope_cli.otlp_files import SpanRecord

pytestmark = pytest.mark.unit

MS = 1_000_000


def _span(name: str, service: str, kind: str, start_ms: int, end_ms: int) -> SpanRecord:
    return SpanRecord("t" * 32, name, "", name, kind, service, start_ms * MS, end_ms * MS, "UNSET", "", {})


def _trace() -> list[SpanRecord]:
    """A job as the stack traces it: submission with its probe, then the four consumer hops of the chain."""
    return [
        _span("POST /v1/jobs", "ingest", "SERVER", 0, 100),
        _span("ffprobe", "ingest", "INTERNAL", 20, 60),
        _span("publish reelscope:job.submitted", "ingest", "PRODUCER", 90, 95),
        _span("process reelscope:job.submitted:reelscope.transcode", "transcode", "CONSUMER", 110, 1110),
        _span("ffprobe", "transcode", "INTERNAL", 120, 170),
        _span("ffmpeg.transcode", "transcode", "INTERNAL", 170, 1070),
        _span("process reelscope:job.stage.started:reelscope.ingest.events", "ingest", "CONSUMER", 130, 150),
        _span("process reelscope:job.transcoded:reelscope.transcription", "transcription", "CONSUMER", 1120, 2120),
        _span("asr.recognize", "transcription", "INTERNAL", 1130, 2100),
        _span("process reelscope:job.completed:reelscope.notification", "notification", "CONSUMER", 2125, 2165),
        _span("process reelscope:job.notified:reelscope.ingest.events", "ingest", "CONSUMER", 2170, 2200),
    ]


def test_a_job_trace_is_reduced_to_media_time_and_orchestration_by_place() -> None:
    timing = job_timing(_trace())
    assert timing.end_to_end_s == pytest.approx(2.2)
    assert timing.media_s == pytest.approx(0.04 + 0.05 + 0.9 + 0.97)
    assert timing.overhead_s == pytest.approx(2.2 - 1.96)
    assert timing.in_services_s == pytest.approx(
        {
            "ingest (submission)": 0.06,
            "transcode (job.submitted)": 0.05,
            "transcription (job.transcoded)": 0.03,
            "notification (job.completed)": 0.04,
            "ingest (job.notified)": 0.03,
        }
    )
    # gaps with no critical-path span open: 100-110, 1110-1120, 2120-2125, 2165-2170 ms
    assert timing.between_services_s == pytest.approx(0.03)
    assert sum(timing.in_services_s.values()) + timing.between_services_s == pytest.approx(timing.overhead_s)


def test_overlapping_media_spans_count_once() -> None:
    trace = [*_trace(), _span("ffmpeg.extra", "transcode", "INTERNAL", 1000, 1100)]
    assert job_timing(trace).media_s == pytest.approx(1.96 + 0.03)  # 1070-1100 is the only new time


def test_percentile_is_a_measured_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_targets_are_judged_and_tabled() -> None:
    section = Section("x", "X", {}, [at_least("ratio", 0.89, 0.9), at_most("p50_ms", 12.0, 30)])
    assert [t.met for t in section.targets] == [False, True]
    table = targets_table([section])
    assert "| X | ratio | ≥ 0.9 | 0.89 | **not met** |" in table
    assert "| X | p50_ms | ≤ 30 | 12.0 | met |" in table
