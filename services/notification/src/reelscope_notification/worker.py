"""The notification stage: `job.completed` / `job.failed` / `job.cancelled` in, a webhook out,
`job.notified` published."""

from collections.abc import Callable

from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from reelscope_contracts import FailureCategory, JobCancelled, JobCompleted, JobEvent, JobFailed, JobNotified
from reelscope_messaging import RetryLater, StageFailed, WorkerContext
from reelscope_messaging.consumer import Handler
from reelscope_outbound import UrlPolicy, pinned_client
from reelscope_telemetry import attributes, get_logger

from reelscope_notification.config import NotificationSettings
from reelscope_notification.webhook import deliver

log = get_logger(__name__)


def build_handler(settings: NotificationSettings) -> Callable[[WorkerContext], Handler]:
    """Create the traced, address-checking HTTP client once per process; the worker runtime supplies broker and
    telemetry."""

    def factory(ctx: WorkerContext) -> Handler:
        client = pinned_client(UrlPolicy.from_settings(settings), timeout=settings.webhook_timeout_s)
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=ctx.telemetry.tracer_provider)

        async def handle(event: JobEvent) -> None:
            if not isinstance(event, JobCompleted | JobFailed | JobCancelled):
                raise StageFailed(f"notification cannot handle a {event.kind} message")
            if event.webhook_url is None:
                log.info("no webhook configured; nothing to deliver")
                ctx.telemetry.instruments.webhook_deliveries.add(1, {attributes.WEBHOOK_OUTCOME: "skipped"})
                await ctx.broker.publish(
                    JobNotified(job_id=event.job_id, delivered=False, skipped=True, detail="no webhook_url given")
                )
                return
            result = await deliver(client, ctx.telemetry, event, event.webhook_url, settings.webhook_signing_secrets)
            if result.transient:
                raise RetryLater(result.detail, FailureCategory.PROCESSING_ERROR)
            await ctx.broker.publish(JobNotified(job_id=event.job_id, delivered=result.delivered, detail=result.detail))

        return handle

    return factory


async def record_give_up(ctx: WorkerContext, event: JobEvent, reason: str) -> None:
    """The webhook never answered well enough: record the notification as failed (the message is parked)."""
    await ctx.broker.publish(JobNotified(job_id=event.job_id, delivered=False, detail=reason))
