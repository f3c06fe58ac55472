"""Every input shape through the real stage (real ffprobe and ffmpeg, real filesystem storage): the
documented result for media we can use, a fast and precise failure for everything else."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reelscope_contracts import FailureCategory, JobKeys, JobSubmitted, JobTranscoded
from reelscope_messaging import StageFailed
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.stage import TranscodeStage

pytestmark = pytest.mark.integration

Probe = Callable[[Path], dict[str, Any]]


def video_stream(probe: dict[str, Any]) -> dict[str, Any]:
    streams: list[dict[str, Any]] = [s for s in probe["streams"] if s["codec_type"] == "video"]
    assert len(streams) == 1
    return streams[0]


async def transcode(
    stage: TranscodeStage, submit: Callable[..., Any], path: Path, progress: Any, **kwargs: Any
) -> JobTranscoded:
    job: JobSubmitted = await submit(path, **kwargs)
    return await stage.run(job, progress)


def check_rendition_file(storage: FilesystemStorage, key: str, probe: Probe, width: int, height: int) -> None:
    """An 8-bit 4:2:0 H.264 MP4 of exactly `width`x`height`, square pixels, no rotation, index first."""
    path = storage.path(key)
    stream = video_stream(probe(path))
    assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
    assert (stream["width"], stream["height"]) == (width, height)
    assert stream.get("sample_aspect_ratio", "1:1") == "1:1"
    assert not any("rotation" in side for side in stream.get("side_data_list", []))
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: the index comes first


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4's top-level boxes, in file order."""
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("ascii"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        offset += size if size else len(data)
    return boxes


async def test_720p_source_gets_360p_and_720p_and_skips_1080p(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """A 1280x720 source gets 360p and 720p (exact sizes), a poster and speech audio; 1080p is skipped as an upscale."""
    result = await transcode(stage, submit, clips("720p.mp4"), progress)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("360p", 640, 360), ("720p", 1280, 720)]
    assert [(s.name, s.reason) for s in result.skipped_renditions] == [
        ("1080p", "source is 1280x720; 1080p would upscale")
    ]
    for rendition in result.renditions:
        check_rendition_file(storage, rendition.key, probe_output, rendition.width, rendition.height)
        assert rendition.size_bytes == storage.path(rendition.key).stat().st_size
        assert (rendition.bitrate_bps or 0) > 0
    assert result.poster_key == JobKeys(result.job_id).poster
    poster = video_stream(probe_output(storage.path(result.poster_key)))
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 1280, 720)
    assert result.audio_key is not None
    audio = probe_output(storage.path(result.audio_key))["streams"][0]
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("pcm_s16le", "16000", 1)
    assert result.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert result.cpu_seconds > 0
    assert result.webhook_url == "https://example.test/hook"
    assert progress.fractions[-1] == 1.0
    assert result.hls_master_key is None


async def test_480p_source_gets_360p_only_with_reasons(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any
) -> None:
    """An 854x480 source gets 360p only; the skipped rungs say the source size and that they would upscale."""
    result = await transcode(stage, submit, clips("480p.mp4"), progress)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("360p", 640, 360)]
    assert [s.reason for s in result.skipped_renditions] == [
        "source is 854x480; 720p would upscale",
        "source is 854x480; 1080p would upscale",
    ]


async def test_source_below_the_ladder_gets_one_rendition_at_its_own_size(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """A 160x90 source (below the smallest rung) gets exactly one rendition, 160x90, and every rung is skipped."""
    result = await transcode(stage, submit, clips("tiny.mp4"), progress)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("90p", 160, 90)]
    assert [s.name for s in result.skipped_renditions] == ["360p", "720p", "1080p"]
    check_rendition_file(storage, result.renditions[0].key, probe_output, 160, 90)


async def test_no_audio_track_makes_renditions_and_no_audio_key(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """A video without an audio track still gets its renditions (video only) and `audio_key=None`."""
    result = await transcode(stage, submit, clips("silent.mp4"), progress)
    assert [r.name for r in result.renditions] == ["360p"]
    assert result.audio_key is None
    streams = probe_output(storage.path(result.renditions[0].key))["streams"]
    assert [s["codec_type"] for s in streams] == ["video"]
    assert not await storage.exists(JobKeys(result.job_id).audio)


async def test_audio_only_input_extracts_speech_wav_only(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """An M4A (whose cover picture is not a video) gets no renditions and no poster, only the 16 kHz mono WAV."""
    result = await transcode(stage, submit, clips("audio-only.m4a"), progress, hls=True)
    assert result.renditions == ()
    assert result.poster_key is None
    assert result.hls_master_key is None
    assert {s.reason for s in result.skipped_renditions} == {"input has no video stream (audio only)"}
    assert result.audio_key == JobKeys(result.job_id).audio
    (audio,) = probe_output(storage.path(result.audio_key))["streams"]
    assert (audio["sample_rate"], audio["channels"]) == ("16000", 1)
    assert float(audio["duration"]) == pytest.approx(result.duration_seconds, abs=0.1)
    assert await storage.list_keys(JobKeys(result.job_id).media_prefix) == [result.audio_key]


async def test_rotated_phone_clip_stays_portrait(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """A 640x360 clip with a 90° display matrix is planned as 360x640 and comes out upright portrait, unrotated."""
    result = await transcode(stage, submit, clips("rotated.mp4"), progress)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("360p", 360, 640)]
    assert result.skipped_renditions[0].reason == "source is 360x640; 720p would upscale"
    check_rendition_file(storage, result.renditions[0].key, probe_output, 360, 640)
    assert result.poster_key is not None
    poster = video_stream(probe_output(storage.path(result.poster_key)))
    assert (poster["width"], poster["height"]) == (360, 640)


async def test_odd_dimensions_come_out_even_with_the_aspect_kept(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """An 853x479 source gets an even 642x360 360p (853/479 x 360 = 641.1, rounded to even)."""
    assert video_stream(probe_output(clips("odd.mp4")))["width"] == 853
    result = await transcode(stage, submit, clips("odd.mp4"), progress)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("360p", 642, 360)]
    assert result.skipped_renditions[0].reason == "source is 853x479; 720p would upscale"
    check_rendition_file(storage, result.renditions[0].key, probe_output, 642, 360)


async def test_non_square_pixels_become_square_with_the_display_aspect_kept(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """480x360 stored with a 4:3 sample aspect (displayed 640x360) becomes a 640x360 square-pixel 360p."""
    result = await transcode(stage, submit, clips("anamorphic.mp4"), progress)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("360p", 640, 360)]
    check_rendition_file(storage, result.renditions[0].key, probe_output, 640, 360)


async def test_variable_frame_rate_becomes_constant_at_the_average_rate(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """A VFR clip (30 and 10 fps halves, average 150/7) comes out constant-rate at 150/7 fps, same duration."""
    source = video_stream(probe_output(clips("vfr.mp4")))
    assert source["r_frame_rate"] != source["avg_frame_rate"]
    result = await transcode(stage, submit, clips("vfr.mp4"), progress)
    out = video_stream(probe_output(storage.path(result.renditions[0].key)))
    assert out["r_frame_rate"] == out["avg_frame_rate"] == "150/7"
    assert float(out["duration"]) == pytest.approx(3.0, abs=0.1)


async def test_10bit_hevc_comes_out_as_8bit_h264(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """Main 10 HEVC (yuv420p10le) becomes 8-bit yuv420p H.264 that every player decodes."""
    assert video_stream(probe_output(clips("hevc10.mp4")))["pix_fmt"] == "yuv420p10le"
    result = await transcode(stage, submit, clips("hevc10.mp4"), progress)
    (rendition,) = result.renditions
    check_rendition_file(storage, rendition.key, probe_output, 320, 240)
    assert video_stream(probe_output(storage.path(rendition.key)))["profile"] == "Main"


async def test_clip_under_a_second_gets_rendition_poster_and_audio(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage, probe_output: Probe
) -> None:
    """A 0.4 s clip still gets its rendition, a poster and speech audio."""
    result = await transcode(stage, submit, clips("short.mp4"), progress, hls=True)
    assert [r.name for r in result.renditions] == ["360p"]
    assert result.poster_key is not None
    assert result.audio_key is not None
    assert result.hls_master_key is not None
    assert float(probe_output(storage.path(result.renditions[0].key))["format"]["duration"]) < 1.0


BAD_INPUTS = [
    ("empty.mp4", FailureCategory.INVALID_INPUT, "input file is empty (0 bytes)"),
    ("text.mp4", FailureCategory.INVALID_INPUT, "not a media file: the input is plain text, not audio or video"),
    ("image.png", FailureCategory.UNSUPPORTED_MEDIA, "input is a still image (png), not a video or audio file"),
    ("image.jpg", FailureCategory.UNSUPPORTED_MEDIA, "input is a still image (jpeg), not a video or audio file"),
    ("subtitles.mkv", FailureCategory.UNSUPPORTED_MEDIA, "input has no video or audio stream (only subtitle)"),
    ("truncated.mp4", FailureCategory.INVALID_INPUT, "input container is truncated or corrupt: the 'mdat' box"),
    ("corrupt.mp4", FailureCategory.INVALID_INPUT, "input container is truncated or corrupt: its MP4 index"),
    ("unknown-codec.avi", FailureCategory.UNSUPPORTED_MEDIA, "input's video codec is not supported (unknown codec"),
]


@pytest.mark.parametrize(("name", "category", "reason"), BAD_INPUTS)
async def test_bad_input_fails_fast_at_probe_time_with_a_precise_reason(
    stage: TranscodeStage,
    submit: Any,
    clips: Any,
    progress: Any,
    storage: FilesystemStorage,
    telemetry: CapturedTelemetry,
    name: str,
    category: FailureCategory,
    reason: str,
) -> None:
    """Bad inputs fail in the probe step, fast, with the documented reason and category, no ffmpeg, nothing stored."""
    job = await submit(clips(name))
    started = time.perf_counter()
    with pytest.raises(StageFailed) as failure:
        await stage.run(job, progress)
    assert time.perf_counter() - started < 1.5
    assert failure.value.reason.startswith(reason)
    assert failure.value.category is category
    assert [s.name for s in telemetry.spans()] == ["ffprobe"]
    assert not telemetry.spans()[0].status.is_ok
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []


async def test_truncated_mkv_fails_after_decoding_with_how_much_was_there(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage
) -> None:
    """A Matroska file cut in half (it probes fine) fails as truncated, saying how much of it decoded; no outputs."""
    job = await submit(clips("truncated.mkv"))
    with pytest.raises(StageFailed) as failure:
        await stage.run(job, progress)
    assert failure.value.category is FailureCategory.INVALID_INPUT
    assert failure.value.reason.startswith("input is truncated or corrupt: only ")
    assert failure.value.reason.endswith("of its declared 6.0 s could be decoded")
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []


async def test_undecodable_streams_in_a_sound_container_fail_as_corrupt(
    stage: TranscodeStage, submit: Any, clips: Any, progress: Any, storage: FilesystemStorage
) -> None:
    """An intact MP4 full of noise probes fine, then fails as INVALID_INPUT with a plain reason, nothing stored."""
    job = await submit(clips("garbled.mp4"))
    with pytest.raises(StageFailed) as failure:
        await stage.run(job, progress)
    assert failure.value.category is FailureCategory.INVALID_INPUT
    assert failure.value.reason == (
        "input is corrupt: its container is readable but no picture or sound could be decoded from it"
    )
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []


async def test_missing_input_is_a_storage_error(stage: TranscodeStage, progress: Any) -> None:
    """A job whose input is not in storage fails with STORAGE_ERROR, naming the missing object."""
    job = JobSubmitted(
        job_id="gone", input_key="jobs/gone/input/source.mp4", original_filename="a.mp4", input_size_bytes=1
    )
    with pytest.raises(StageFailed) as failure:
        await stage.run(job, progress)
    assert failure.value.category is FailureCategory.STORAGE_ERROR
    assert "jobs/gone/input/source.mp4" in failure.value.reason
