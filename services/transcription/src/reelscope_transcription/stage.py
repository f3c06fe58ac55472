"""The transcription stage's work for one job, without the broker: read the audio from storage,
recognise it in chunks, publish the transcript files, record telemetry, and return the `job.completed`
event to publish. Every expected failure becomes a `StageFailed` with a precise reason."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

from opentelemetry import trace
from reelscope_contracts import FailureCategory, JobCompleted, JobKeys, JobTranscoded, StageName, TranscriptInfo
from reelscope_flags import TRANSCRIPTION_SLOWDOWN_FACTOR, FeatureFlags
from reelscope_messaging import RetryLater, StageFailed
from reelscope_storage import ObjectNotFound, Storage, StorageError
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_transcription.exceptions import AudioUnreadable, RecognitionFailed
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.recognition import ChunkPlan, Tally, recognize_file
from reelscope_transcription.subtitles import to_srt, to_webvtt
from reelscope_transcription.transcript import Transcript, truncate

log = get_logger(__name__)

NO_AUDIO_REASON = "input has no audio track"
STAGE: Final = MappingProxyType({attributes.STAGE: StageName.TRANSCRIPTION.value})


def write_transcript_files(out: Path, keys: JobKeys, transcript: Transcript) -> None:
    """Write `.txt`, `.vtt` and `.srt` into a staged output directory for `keys.transcript_prefix`."""
    prefix = keys.transcript_prefix
    for key, content in (
        (keys.transcript_text, transcript.text + "\n"),
        (keys.transcript_vtt, to_webvtt(transcript.segments)),
        (keys.transcript_srt, to_srt(transcript.segments)),
    ):
        path = out / JobKeys.within(prefix, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


@dataclass(frozen=True)
class Transcriber:
    """What the stage needs, made once per worker process."""

    storage: Storage
    pool: RecognizerPool
    engine: str
    fallback_language: str
    plan: ChunkPlan
    telemetry: Telemetry
    flags: FeatureFlags = field(default_factory=FeatureFlags)

    async def transcribe(self, event: JobTranscoded, progress: Callable[[float], None]) -> JobCompleted:
        """Transcribe the job's audio and store the transcript; the `JobCompleted` to publish."""
        started = time.perf_counter()
        if event.audio_key is None:
            return self._skipped(event, NO_AUDIO_REASON)
        keys = JobKeys(event.job_id)
        if not event.audio_key.startswith(keys.prefix + "/"):
            raise StageFailed(
                f"audio key {event.audio_key!r} is outside job {event.job_id}'s storage",
                FailureCategory.MALFORMED_MESSAGE,
            )
        tally = Tally()
        try:
            transcript = await self._recognize(event, tally, progress)
        finally:
            # CPU spent counts even when the job then fails or is cancelled.
            if tally.cpu_seconds > 0:
                self.telemetry.instruments.stage_cpu_time.add(tally.cpu_seconds, STAGE)
        await self._injected_slowdown(time.perf_counter() - started)
        try:
            async with self.storage.output_dir(keys.transcript_prefix) as out:
                await asyncio.to_thread(write_transcript_files, out, keys, transcript)
        except StorageError as exc:
            raise RetryLater(f"could not store the transcript: {exc}", FailureCategory.STORAGE_ERROR) from exc
        self._record(tally, transcript, time.perf_counter() - started, event.duration_seconds)
        text, truncated = truncate(transcript.text)
        return JobCompleted(
            job_id=event.job_id,
            transcript=TranscriptInfo(
                text=text,
                text_truncated=truncated,
                language=transcript.language,
                engine=self.engine,
                word_count=transcript.word_count,
                text_key=keys.transcript_text,
                vtt_key=keys.transcript_vtt,
                srt_key=keys.transcript_srt,
            ),
            cpu_seconds=round(tally.cpu_seconds, 3),
            webhook_url=event.webhook_url,
            owner=event.owner,
        )

    async def _recognize(self, event: JobTranscoded, tally: Tally, progress: Callable[[float], None]) -> Transcript:
        assert event.audio_key is not None
        with self.telemetry.tracer.start_as_current_span("asr.recognize") as span:
            span.set_attribute(attributes.ASR_ENGINE, self.engine)
            span.set_attribute(attributes.MEDIA_DURATION, event.duration_seconds)
            try:
                async with self.storage.local_file(event.audio_key) as wav:
                    transcript = await recognize_file(
                        wav,
                        self.pool,
                        self.plan,
                        fallback_language=self.fallback_language,
                        tally=tally,
                        on_progress=progress,
                    )
            except ObjectNotFound as exc:
                raise StageFailed(
                    f"the job's audio {event.audio_key} is missing from storage", FailureCategory.STORAGE_ERROR
                ) from exc
            except StorageError as exc:
                raise RetryLater(f"could not read the job's audio: {exc}", FailureCategory.STORAGE_ERROR) from exc
            except AudioUnreadable as exc:
                raise StageFailed(str(exc), FailureCategory.INVALID_INPUT) from exc
            except RecognitionFailed as exc:
                raise StageFailed(str(exc), FailureCategory.PROCESSING_ERROR) from exc
            except asyncio.CancelledError:
                # Not an error: the job was cancelled. Say how far recognition got, then let it propagate.
                span.add_event("reelscope.job.cancelled", {"reelscope.asr.done_s": round(tally.done_s, 3)})
                raise
            finally:
                span.set_attribute(attributes.ASR_CHUNKS, tally.chunks)
            span.set_attribute(attributes.MEDIA_DURATION, tally.audio_s)
            span.set_attribute(attributes.ASR_LANGUAGE, transcript.language)
            span.set_attribute(attributes.ASR_WORDS, transcript.word_count)
            return transcript

    async def _injected_slowdown(self, recognition_s: float) -> None:
        """Failure flag `transcriptionSlowdownFactor` f > 1: wait (f - 1) x the recognition time, so the stage
        takes f times as long (the recogniser's own metrics stay true)."""
        factor = self.flags.factor(TRANSCRIPTION_SLOWDOWN_FACTOR)
        if factor <= 1:
            return
        delay_s = (factor - 1) * recognition_s
        trace.get_current_span().add_event(
            "reelscope.flag.injected_delay",
            {attributes.FLAG_INJECTED: TRANSCRIPTION_SLOWDOWN_FACTOR, attributes.FLAG_DELAY: delay_s},
        )
        log.warning("injected slowdown", flag=TRANSCRIPTION_SLOWDOWN_FACTOR, factor=factor, delay_s=round(delay_s, 3))
        await asyncio.sleep(delay_s)

    def _record(self, tally: Tally, transcript: Transcript, stage_s: float, declared_s: float) -> None:
        instruments = self.telemetry.instruments
        engine = {attributes.ASR_ENGINE: self.engine}
        instruments.asr_duration.record(tally.wall_seconds, engine)
        instruments.transcript_words.record(transcript.word_count, engine)
        media_s = tally.audio_s or declared_s
        if media_s > 0:
            instruments.asr_realtime_factor.record(tally.wall_seconds / media_s, engine)
            instruments.realtime_ratio.record(stage_s / media_s, STAGE)
        log.info(
            "transcript written",
            words=transcript.word_count,
            language=transcript.language,
            chunks=tally.chunks,
            recognized_chunks=tally.recognized_chunks,
            audio_s=round(tally.audio_s, 3),
            cpu_s=round(tally.cpu_seconds, 3),
        )

    def _skipped(self, event: JobTranscoded, reason: str) -> JobCompleted:
        span = trace.get_current_span()
        span.set_attribute(attributes.TRANSCRIPTION_SKIPPED, True)
        span.set_attribute(attributes.TRANSCRIPTION_SKIPPED_REASON, reason)
        log.info("transcription skipped", reason=reason)
        return JobCompleted(
            job_id=event.job_id,
            transcript=None,
            transcription_skipped_reason=reason,
            webhook_url=event.webhook_url,
            owner=event.owner,
        )
