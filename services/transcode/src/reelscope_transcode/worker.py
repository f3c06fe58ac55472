"""The transcode worker's handler: `job.submitted` in; `job.stage.started`, progress and `job.transcoded` out."""

from collections.abc import Callable

from reelscope_contracts import FailureCategory, JobEvent, JobKeys, JobSubmitted, StageName
from reelscope_flags import FeatureFlags
from reelscope_messaging import Handler, JobWasCancelled, StageFailed, WorkerContext
from reelscope_storage import Storage

from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.faults import InjectedFaults
from reelscope_transcode.stage import TranscodeStage


def build_handler(
    settings: TranscodeSettings, storage: Storage, flags: FeatureFlags | None = None
) -> Callable[[WorkerContext], Handler]:
    """Bind settings, storage and failure flags now; the worker runtime supplies broker and telemetry at start-up."""

    def factory(ctx: WorkerContext) -> Handler:
        stage = TranscodeStage(settings, storage, ctx.telemetry)
        faults = InjectedFaults(flags or FeatureFlags())

        async def handle(event: JobEvent) -> None:
            if not isinstance(event, JobSubmitted):
                raise StageFailed(f"transcode cannot handle a {event.kind} message", FailureCategory.MALFORMED_MESSAGE)
            async with ctx.stage_started(event.job_id, StageName.TRANSCODE):
                faults.before_job()
                reporter = ctx.progress(event.job_id, StageName.TRANSCODE)
                try:
                    result = await stage.run(event, reporter)
                finally:
                    # A progress event still in flight must not overtake the stage's final event.
                    await reporter.aclose()
            if await ctx.is_cancelled(event.job_id):  # cancelled after the media was stored: remove it
                await storage.delete_prefix(JobKeys(event.job_id).media_prefix)
                raise JobWasCancelled
            await ctx.broker.publish(result)

        return handle

    return factory
