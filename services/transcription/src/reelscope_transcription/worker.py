"""The transcription stage on the broker: `job.transcoded` in, stage started, progress, `job.completed` out."""

from collections.abc import Callable

from reelscope_contracts import FailureCategory, JobEvent, JobKeys, JobTranscoded, StageName
from reelscope_flags import FeatureFlags
from reelscope_messaging import JobWasCancelled, StageFailed, WorkerContext
from reelscope_messaging.consumer import Handler
from reelscope_storage import Storage

from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engines import Engine
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.recognition import ChunkPlan
from reelscope_transcription.stage import Transcriber


def chunk_plan(settings: TranscriptionSettings) -> ChunkPlan:
    """How the settings say audio is cut into chunks."""
    return ChunkPlan(max_s=settings.asr_chunk_max_s, min_s=settings.asr_chunk_min_s, vad_mode=settings.asr_vad_mode)


def build_handler(
    settings: TranscriptionSettings,
    storage: Storage,
    engine: Engine,
    pool: RecognizerPool,
    flags: FeatureFlags | None = None,
) -> Callable[[WorkerContext], Handler]:
    """Bind storage, the loaded engine, its pool and the failure flags; the worker runtime supplies broker and
    telemetry."""

    def factory(ctx: WorkerContext) -> Handler:
        transcriber = Transcriber(
            storage,
            pool,
            engine.name,
            engine.fallback_language,
            chunk_plan(settings),
            ctx.telemetry,
            flags or FeatureFlags(),
        )

        async def handle(event: JobEvent) -> None:
            if not isinstance(event, JobTranscoded):
                raise StageFailed(
                    f"transcription cannot handle a {event.kind} message", FailureCategory.MALFORMED_MESSAGE
                )
            await run_stage(event, transcriber, ctx, storage)

        return handle

    return factory


async def run_stage(event: JobTranscoded, transcriber: Transcriber, ctx: WorkerContext, storage: Storage) -> None:
    """Announce the stage, transcribe with progress, then publish `job.completed`.

    A cancelled job raises `CancelledError` out of `transcribe`; it propagates untouched (the staged
    transcript is discarded by storage, and the consumer acks the message as cancelled). A cancellation
    that lands after the transcript was stored is caught by the check before publishing: the transcript
    is removed and nothing is published."""
    async with ctx.stage_started(event.job_id, StageName.TRANSCRIPTION):
        reporter = ctx.progress(event.job_id, StageName.TRANSCRIPTION)
        try:
            completed = await transcriber.transcribe(event, reporter.update)
        finally:
            await reporter.aclose()  # no progress event may overtake the final one (completed or failed)
    if await ctx.is_cancelled(event.job_id):
        await storage.delete_prefix(JobKeys(event.job_id).transcript_prefix)
        raise JobWasCancelled
    await ctx.broker.publish(completed)
