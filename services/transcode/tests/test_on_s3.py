"""The transcode stage on the S3 backend (a real MinIO): the input is downloaded to scratch, every output
(renditions, HLS, poster, speech WAV) is uploaded under the job's media prefix, scratch is left empty,
and a failed job stores nothing."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from reelscope_contracts import FailureCategory, JobKeys, JobSubmitted
from reelscope_messaging import StageFailed
from reelscope_storage.s3 import S3Storage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.stage import TranscodeStage

pytestmark = pytest.mark.integration


async def _submit(storage: S3Storage, clip: Path, *, hls: bool) -> JobSubmitted:
    job_id = uuid.uuid4().hex[:12]
    key = JobKeys(job_id).input(clip.suffix)
    await storage.put_file(key, clip)
    return JobSubmitted(
        job_id=job_id, input_key=key, original_filename=clip.name, input_size_bytes=clip.stat().st_size, hls=hls
    )


async def test_stage_reads_and_writes_through_s3(
    make_s3_storage: Any, clips: Any, progress: Any, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    """Every key the stage reports exists in the bucket with the reported size; nothing is left in scratch."""
    storage: S3Storage = make_s3_storage()
    stage = TranscodeStage(TranscodeSettings(scratch_dir=storage.scratch_dir), storage, telemetry.telemetry)
    job = await _submit(storage, clips("720p.mp4"), hls=True)
    result = await stage.run(job, progress)
    keys = JobKeys(job.job_id)
    stored = set(await storage.list_keys(keys.media_prefix))
    assert [r.name for r in result.renditions] == ["360p", "720p"]
    for rendition in result.renditions:
        assert await storage.size(rendition.key) == rendition.size_bytes
        assert rendition.hls_playlist_key in stored
    assert {keys.hls_master, keys.poster, keys.audio} <= stored
    assert any(key.endswith((".ts", ".m4s")) for key in stored)
    master = (await storage.get_bytes(keys.hls_master, 64 * 1024)).decode()
    assert master.count("#EXT-X-STREAM-INF") == 2
    leftovers = [p for p in storage.scratch_dir.rglob("*") if p.is_file()] if storage.scratch_dir.exists() else []
    assert leftovers == []


async def test_failed_job_on_s3_stores_nothing(make_s3_storage: Any, clips: Any, progress: Any, telemetry: Any) -> None:
    """A truncated upload fails with its reason and leaves no media objects behind."""
    storage: S3Storage = make_s3_storage()
    stage = TranscodeStage(TranscodeSettings(scratch_dir=storage.scratch_dir), storage, telemetry.telemetry)
    job = await _submit(storage, clips("truncated.mp4"), hls=False)
    with pytest.raises(StageFailed) as failure:
        await stage.run(job, progress)
    assert failure.value.category is FailureCategory.INVALID_INPUT
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []
