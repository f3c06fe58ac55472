"""The stage on filesystem storage with real pocketsphinx: transcript files, the JobCompleted it returns,
telemetry, the no-audio skip, precise failures, and cancellation that publishes nothing."""

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest
from reelscope_bench.asr import SENTENCES
from reelscope_contracts import FailureCategory, JobKeys, JobTranscoded
from reelscope_messaging import StageFailed
from reelscope_storage import FilesystemStorage
from reelscope_storage.s3 import S3Storage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.recognition import ChunkPlan
from reelscope_transcription.stage import Transcriber

from .conftest import Speech

pytestmark = pytest.mark.integration

JOB = "job-stage-1"
KEYS = JobKeys(JOB)


def transcoded(audio_key: str | None = KEYS.audio, duration: float = 5.0) -> JobTranscoded:
    return JobTranscoded(job_id=JOB, renditions=(), audio_key=audio_key, duration_seconds=duration)


def transcriber(storage: FilesystemStorage, pool: RecognizerPool, telemetry: CapturedTelemetry) -> Transcriber:
    return Transcriber(storage, pool, "pocketsphinx", "en", ChunkPlan(max_s=8.0, min_s=3.0), telemetry.telemetry)


async def store_audio(storage: FilesystemStorage, path: Path) -> None:
    await storage.put_file(KEYS.audio, path)


async def test_transcript_files_and_completed_event(
    tmp_path: Path,
    speech: Speech,
    storage: FilesystemStorage,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
) -> None:
    """Speech becomes .txt, .vtt and .srt under the job's transcript prefix, and a JobCompleted that names
    them, with language, engine, word count, CPU seconds; the span and the metrics record the work."""
    wav = speech.write(
        tmp_path / "a.wav", speech.sentence(SENTENCES[0]), speech.silence(2.0), speech.sentence(SENTENCES[8])
    )
    await store_audio(storage, wav)
    fractions: list[float] = []

    completed = await transcriber(storage, sphinx_pool, telemetry).transcribe(transcoded(), fractions.append)

    info = completed.transcript
    assert info is not None
    assert "quick brown fox" in info.text
    assert "parked truck" in info.text
    assert (info.language, info.engine, info.text_truncated) == ("en", "pocketsphinx", False)
    assert info.word_count == len(info.text.split())
    assert (info.text_key, info.vtt_key, info.srt_key) == (
        KEYS.transcript_text,
        KEYS.transcript_vtt,
        KEYS.transcript_srt,
    )
    assert completed.cpu_seconds > 0
    assert await storage.list_keys(KEYS.transcript_prefix) == sorted(
        [KEYS.transcript_srt, KEYS.transcript_text, KEYS.transcript_vtt]
    )
    assert (await storage.get_bytes(KEYS.transcript_text, 10_000)).decode() == info.text + "\n"
    vtt = (await storage.get_bytes(KEYS.transcript_vtt, 10_000)).decode()
    srt = (await storage.get_bytes(KEYS.transcript_srt, 10_000)).decode()
    assert vtt.startswith("WEBVTT\n\n1\n00:00:0")
    assert srt.startswith("1\n00:00:0")
    assert "," in srt.splitlines()[1]
    assert fractions[-1] == pytest.approx(1.0)

    (span,) = [s for s in telemetry.spans() if s.name == "asr.recognize"]
    attrs = dict(span.attributes or {})
    assert attrs["reelscope.asr.engine"] == "pocketsphinx"
    assert attrs["reelscope.asr.language"] == "en"
    assert attrs["reelscope.asr.word_count"] == info.word_count
    chunks = attrs["reelscope.asr.chunks"]
    assert isinstance(chunks, int)
    assert chunks >= 2
    assert attrs["reelscope.media.duration_s"] == pytest.approx(Speech.seconds(wav.read_bytes()[44:]), abs=0.01)
    (cpu,) = telemetry.metric_points("reelscope.stage.cpu.time")
    assert dict(cpu.attributes) == {"reelscope.stage": "transcription"}
    assert cpu.value == pytest.approx(completed.cpu_seconds, abs=0.001)
    (words,) = telemetry.metric_points("reelscope.transcript.words")
    assert words.sum == info.word_count
    for name in ("reelscope.asr.duration", "reelscope.asr.realtime_factor"):
        (point,) = telemetry.metric_points(name)
        assert dict(point.attributes) == {"reelscope.asr.engine": "pocketsphinx"}
        assert point.sum > 0
    (ratio,) = telemetry.metric_points("reelscope.stage.realtime_ratio")
    assert dict(ratio.attributes) == {"reelscope.stage": "transcription"}


async def test_no_audio_track_completes_without_transcript(
    storage: FilesystemStorage, sphinx_pool: RecognizerPool, telemetry: CapturedTelemetry
) -> None:
    """No audio: JobCompleted with no transcript and the reason; the current span says it was skipped."""
    with telemetry.telemetry.tracer.start_as_current_span("process"):
        completed = await transcriber(storage, sphinx_pool, telemetry).transcribe(transcoded(None), lambda _: None)
    assert completed.transcript is None
    assert completed.transcription_skipped_reason == "input has no audio track"
    (span,) = telemetry.spans()
    assert span.attributes is not None
    assert span.attributes["reelscope.transcription.skipped"] is True
    assert await storage.list_keys(KEYS.prefix) == []


async def test_silent_audio_gives_an_empty_transcript(
    tmp_path: Path,
    speech: Speech,
    storage: FilesystemStorage,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
) -> None:
    """Audio with nobody speaking completes with zero words and valid, empty subtitle files."""
    await store_audio(storage, speech.write(tmp_path / "q.wav", speech.silence(3)))
    completed = await transcriber(storage, sphinx_pool, telemetry).transcribe(transcoded(), lambda _: None)
    assert completed.transcript is not None
    assert (completed.transcript.text, completed.transcript.word_count) == ("", 0)
    assert (await storage.get_bytes(KEYS.transcript_vtt, 100)) == b"WEBVTT\n"


def _stereo_44k(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(bytes(44100 * 4))
    return path


@pytest.mark.parametrize(
    ("audio_key", "content", "category", "reason"),
    [
        (KEYS.audio, None, FailureCategory.STORAGE_ERROR, f"the job's audio {KEYS.audio} is missing from storage"),
        (KEYS.audio, b"garbage" * 100, FailureCategory.INVALID_INPUT, "audio is not a readable WAV file: "),
        (KEYS.audio, "stereo", FailureCategory.INVALID_INPUT, "audio must be 16 kHz mono 16-bit PCM, got 44100 Hz"),
        ("jobs/other-job/media/audio/speech-16k.wav", None, FailureCategory.MALFORMED_MESSAGE, "is outside job"),
    ],
)
async def test_bad_audio_fails_the_stage_with_a_precise_reason(
    tmp_path: Path,
    storage: FilesystemStorage,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
    audio_key: str,
    content: bytes | str | None,
    category: FailureCategory,
    reason: str,
) -> None:
    """Missing, corrupt, wrongly formatted or foreign audio raises StageFailed with its category and reason,
    and leaves no transcript behind."""
    if content == "stereo":
        await storage.put_file(audio_key, _stereo_44k(tmp_path / "s.wav"))
    elif isinstance(content, bytes):
        await storage.put_bytes(audio_key, content)
    with pytest.raises(StageFailed) as failure:
        await transcriber(storage, sphinx_pool, telemetry).transcribe(transcoded(audio_key), lambda _: None)
    assert failure.value.category is category
    assert reason in failure.value.reason
    assert await storage.list_keys(KEYS.transcript_prefix) == []


async def test_cancelled_job_publishes_no_transcript(
    tmp_path: Path,
    speech: Speech,
    storage: FilesystemStorage,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
) -> None:
    """Cancelling mid-recognition raises CancelledError, stored no transcript, and the span says it was cancelled."""
    wav = speech.write(tmp_path / "l.wav", *([speech.sentence(SENTENCES[1]), speech.silence(1)] * 20))
    await store_audio(storage, wav)
    started = asyncio.Event()
    task = asyncio.ensure_future(
        transcriber(storage, sphinx_pool, telemetry).transcribe(transcoded(), lambda _: started.set())
    )
    await asyncio.wait_for(started.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await storage.list_keys(KEYS.transcript_prefix) == []
    (span,) = [s for s in telemetry.spans() if s.name == "asr.recognize"]
    assert [e.name for e in span.events] == ["reelscope.job.cancelled"]


async def test_transcript_on_s3(
    tmp_path: Path, speech: Speech, make_s3_storage: Any, sphinx_pool: RecognizerPool, telemetry: CapturedTelemetry
) -> None:
    """On the S3 backend (a real MinIO) the audio is downloaded to scratch, the three transcript objects are
    uploaded, and scratch is left empty."""
    storage: S3Storage = make_s3_storage()
    await storage.put_file(KEYS.audio, speech.write(tmp_path / "s3.wav", speech.sentence(SENTENCES[0])))
    stage = Transcriber(
        storage, sphinx_pool, "pocketsphinx", "en", ChunkPlan(max_s=8.0, min_s=3.0), telemetry.telemetry
    )
    completed = await stage.transcribe(transcoded(), lambda _: None)
    assert completed.transcript is not None
    assert "quick brown fox" in completed.transcript.text
    assert await storage.list_keys(KEYS.transcript_prefix) == sorted(
        [KEYS.transcript_srt, KEYS.transcript_text, KEYS.transcript_vtt]
    )
    leftovers = [p for p in storage.scratch_dir.rglob("*") if p.is_file()] if storage.scratch_dir.exists() else []
    assert leftovers == []
