"""What the stage records: per-rendition metrics labelled by rung only (never by job), stage CPU and
real-time ratio, the ffmpeg process gauge, and spans that describe the media and the run."""

from typing import Any

import pytest
from reelscope_contracts import FailureCategory
from reelscope_messaging import StageFailed
from reelscope_telemetry import attributes
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.stage import TranscodeStage

pytestmark = pytest.mark.integration

RENDITION_METRICS = (
    "reelscope.rendition.size",
    "reelscope.rendition.compression_ratio",
    "reelscope.transcode.duration",
)


async def test_rendition_metrics_carry_only_the_rung_label(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, telemetry: CapturedTelemetry
) -> None:
    """Per-rendition metrics carry only `reelscope.rendition` (a rung name or `native`), never a job id."""
    first = await stage.run(await submit(clips("720p.mp4")), progress)
    second = await stage.run(await submit(clips("tiny.mp4")), progress)
    allowed = {rung.name for rung in stage.settings.ladder} | {"native"}
    for name in RENDITION_METRICS:
        points = telemetry.metric_points(name)
        labels = [dict(point.attributes) for point in points]
        assert all(set(label) == {attributes.RENDITION} for label in labels), name
        assert {label[attributes.RENDITION] for label in labels} == {"360p", "720p", "native"} <= allowed
        assert sum(point.count for point in points) == 3
        rendered = str(labels)
        assert first.job_id not in rendered
        assert second.job_id not in rendered
    ratios = {dict(p.attributes)[attributes.RENDITION]: p.sum for p in telemetry.metric_points(RENDITION_METRICS[1])}
    size_360p = next(r.size_bytes for r in first.renditions if r.name == "360p")
    assert ratios["360p"] == pytest.approx(clips("720p.mp4").stat().st_size / size_360p)


async def test_stage_metrics_cpu_realtime_and_process_gauge(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, telemetry: CapturedTelemetry
) -> None:
    """CPU seconds (also in the result) and real-time ratio are labelled by stage only; the gauge ends at 0."""
    result = await stage.run(await submit(clips("720p.mp4")), progress)
    stage_label = {attributes.STAGE: "transcode"}
    (cpu,) = telemetry.metric_points("reelscope.stage.cpu.time")
    assert dict(cpu.attributes) == stage_label
    assert cpu.value == pytest.approx(result.cpu_seconds, abs=0.01)
    assert result.cpu_seconds > 0
    (ratio,) = telemetry.metric_points("reelscope.stage.realtime_ratio")
    assert dict(ratio.attributes) == stage_label
    assert 0 < ratio.sum < 30
    (gauge,) = telemetry.metric_points("reelscope.ffmpeg.processes")
    assert dict(gauge.attributes) == stage_label
    assert gauge.value == 0


async def test_spans_describe_the_media_and_the_ffmpeg_run(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, telemetry: CapturedTelemetry
) -> None:
    """`ffprobe` describes the media (rotated display size); `ffmpeg.transcode` the plan, limit and exit code."""
    await stage.run(await submit(clips("rotated.mp4"), hls=True), progress)
    probe, run = (next(s for s in telemetry.spans() if s.name == name) for name in ("ffprobe", "ffmpeg.transcode"))
    assert probe.attributes is not None
    assert run.attributes is not None
    assert probe.attributes[attributes.MEDIA_FORMAT] == "mov"
    assert (probe.attributes[attributes.MEDIA_WIDTH], probe.attributes[attributes.MEDIA_HEIGHT]) == (360, 640)
    assert probe.attributes[attributes.MEDIA_ROTATION] == 90
    assert probe.attributes[attributes.MEDIA_VIDEO_CODEC] == "h264"
    assert probe.attributes[attributes.MEDIA_HAS_AUDIO] is True
    assert probe.attributes[attributes.MEDIA_DURATION] == pytest.approx(2.0, abs=0.1)
    assert tuple(run.attributes[attributes.RENDITIONS]) == ("360p",)  # type: ignore[arg-type]
    assert tuple(run.attributes[attributes.RENDITIONS_SKIPPED]) == ("720p", "1080p")  # type: ignore[arg-type]
    assert run.attributes[attributes.HLS] is True
    assert run.attributes[attributes.TOOL_TIMEOUT] == stage.settings.ffmpeg_timeout_floor_s
    assert run.attributes["process.exit.code"] == 0
    assert run.attributes[attributes.TOOL_PEAK_RSS] > 0  # type: ignore[operator]


async def test_failed_probe_span_is_an_error_and_cpu_is_still_counted(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, telemetry: CapturedTelemetry
) -> None:
    """A refused input leaves an ERROR `ffprobe` span with the exception event; the CPU counter still records."""
    with pytest.raises(StageFailed) as failure:
        await stage.run(await submit(clips("subtitles.mkv")), progress)
    assert failure.value.category is FailureCategory.UNSUPPORTED_MEDIA
    (span,) = telemetry.spans()
    assert not span.status.is_ok
    assert any(event.name == "exception" for event in span.events)
    assert len(telemetry.metric_points("reelscope.stage.cpu.time")) == 1
