"""ffmpeg's life inside a job: stopped and reaped on cancellation and at the time limit with nothing
published, and memory that stays flat however long the media is."""

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from reelscope_contracts import FailureCategory, JobKeys
from reelscope_messaging import StageFailed
from reelscope_storage import FilesystemStorage
from reelscope_telemetry import attributes
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.stage import TranscodeStage

pytestmark = pytest.mark.integration


def ffmpeg_children() -> list[int]:
    """Pids of ffmpeg processes (running or zombie) whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if name == "ffmpeg" and parent == os.getpid():
            found.append(int(entry.name))
    return found


def processes_gauge(telemetry: CapturedTelemetry) -> float:
    return float(sum(point.value for point in telemetry.metric_points("reelscope.ffmpeg.processes")))


async def test_cancel_mid_encode_kills_ffmpeg_and_publishes_nothing(
    stage: TranscodeStage,
    submit: Any,
    clips: Any,
    progress: Any,
    storage: FilesystemStorage,
    telemetry: CapturedTelemetry,
) -> None:
    """Cancelling mid-encode re-raises, leaves no ffmpeg (nor zombie), no media key, no staging, gauge at 0."""
    job = await submit(clips("long.mp4"))
    task = asyncio.create_task(stage.run(job, progress))
    for _ in range(200):
        if progress.fractions and ffmpeg_children():
            break
        await asyncio.sleep(0.05)
    assert ffmpeg_children(), "ffmpeg should be encoding by now"
    assert processes_gauge(telemetry) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ffmpeg_children() == []
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []
    assert list((storage.root / ".staging").iterdir()) == []
    assert processes_gauge(telemetry) == 0


async def test_time_limit_kills_ffmpeg_and_fails_with_timeout(
    storage: FilesystemStorage, telemetry: CapturedTelemetry, submit: Any, clips: Any, progress: Any, tmp_path: Path
) -> None:
    """Past its limit ffmpeg is killed within the grace period: TIMEOUT naming the limit, nothing published."""
    settings = TranscodeSettings(
        storage_dir=tmp_path / "storage", ffmpeg_timeout_floor_s=1, ffmpeg_timeout_ceiling_s=1, kill_grace_s=1
    )
    stage = TranscodeStage(settings, storage, telemetry.telemetry)
    job = await submit(clips("long.mp4"))
    started = time.perf_counter()
    with pytest.raises(StageFailed) as failure:
        await stage.run(job, progress)
    assert time.perf_counter() - started < 5
    assert failure.value.category is FailureCategory.TIMEOUT
    assert failure.value.reason.startswith("transcoding took longer than its 1 s limit and was stopped")
    assert ffmpeg_children() == []
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []
    assert processes_gauge(telemetry) == 0


async def test_memory_stays_flat_for_a_long_clip(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, telemetry: CapturedTelemetry
) -> None:
    """ffmpeg's peak RSS for 5 min of media stays under 250 MiB and about what 30 s of the same media needs."""
    peaks = {}
    for name in ("long-30s.mp4", "long.mp4"):
        telemetry.clear()
        result = await stage.run(await submit(clips(name)), progress)
        (span,) = [s for s in telemetry.spans() if s.name == "ffmpeg.transcode"]
        assert span.attributes is not None
        peaks[result.duration_seconds] = int(span.attributes[attributes.TOOL_PEAK_RSS])  # type: ignore[arg-type]
    short, long = peaks[30.0], peaks[300.0]
    assert long < 250 * 1024 * 1024
    assert long < short * 1.25 + 16 * 1024 * 1024, f"peak RSS {short} B for 30 s but {long} B for 300 s"
