"""The transcription stage: `job.transcoded` in, transcript files out, `job.completed` published."""

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from reelscope_contracts import (
    JobCompleted,
    JobEvent,
    JobPaths,
    JobTranscoded,
    StageName,
    StageStarted,
    TranscriptInfo,
)
from reelscope_messaging import StageFailed, WorkerContext
from reelscope_messaging.consumer import Handler
from reelscope_telemetry import attributes, get_logger

from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engine import ENGINES, Recognizer, Word
from reelscope_transcription.webvtt import to_webvtt

log = get_logger(__name__)


def build_handler(settings: TranscriptionSettings) -> Callable[[WorkerContext], Handler]:
    """Bind settings and the recogniser pool; the worker runtime supplies broker and telemetry."""
    # `spawn`, not fork: the parent holds exporter threads and sockets a forked child must not inherit.
    pool = ProcessPoolExecutor(settings.asr_workers, mp_context=multiprocessing.get_context("spawn"))
    recognizer = ENGINES[settings.asr_engine]

    def factory(ctx: WorkerContext) -> Handler:
        async def handle(event: JobEvent) -> None:
            if not isinstance(event, JobTranscoded):
                raise StageFailed(f"transcription cannot handle a {event.kind} message")
            await transcribe(event, settings, ctx, pool, recognizer)

        return handle

    return factory


async def transcribe(
    event: JobTranscoded,
    settings: TranscriptionSettings,
    ctx: WorkerContext,
    pool: ProcessPoolExecutor,
    recognizer: Recognizer,
) -> None:
    """Recognise the job's speech off the event loop, write `.txt` and `.vtt`, publish completion."""
    await ctx.broker.publish(StageStarted(job_id=event.job_id, stage=StageName.TRANSCRIPTION))
    if event.audio_path is None:
        reason = "input has no audio track"
        log.info("transcription skipped", reason=reason)
        await ctx.broker.publish(
            JobCompleted(
                job_id=event.job_id,
                transcript=None,
                transcription_skipped_reason=reason,
                webhook_url=event.webhook_url,
            )
        )
        return
    paths = JobPaths(settings.storage_dir, event.job_id)
    try:
        wav = paths.resolve(event.audio_path)
    except ValueError as exc:
        raise StageFailed(f"audio path refused: {exc}") from exc
    with ctx.telemetry.tracer.start_as_current_span("asr.recognize") as span:
        span.set_attribute(attributes.ASR_ENGINE, settings.asr_engine)
        span.set_attribute(attributes.MEDIA_DURATION, event.duration_seconds)
        try:
            words: list[Word] = await asyncio.get_running_loop().run_in_executor(pool, recognizer, wav)
        except (ValueError, OSError) as exc:
            raise StageFailed(f"speech recognition could not read the audio: {exc}") from exc
        span.set_attribute(attributes.ASR_WORDS, len(words))
    text = " ".join(w.text for w in words)
    paths.transcript_text.parent.mkdir(parents=True, exist_ok=True)
    paths.transcript_text.write_text(text + "\n", encoding="utf-8")
    paths.transcript_vtt.write_text(
        to_webvtt(words, settings.cue_max_words, settings.cue_max_pause_s), encoding="utf-8"
    )
    log.info("transcript written", words=len(words))
    await ctx.broker.publish(
        JobCompleted(
            job_id=event.job_id,
            transcript=TranscriptInfo(
                text=text,
                text_path=paths.relative(paths.transcript_text),
                vtt_path=paths.relative(paths.transcript_vtt),
                word_count=len(words),
            ),
            webhook_url=event.webhook_url,
        )
    )
