"""The notification stage: `job.completed` / `job.failed` / `job.cancelled` in, a webhook, Slack message and/or
email out (notify.py), `job.notified` published."""

import dataclasses
from collections.abc import Callable

from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from reelscope_contracts import JobCancelled, JobCompleted, JobEvent, JobFailed, JobNotified
from reelscope_flags import FeatureFlags
from reelscope_messaging import StageFailed, WorkerContext
from reelscope_messaging.consumer import Handler
from reelscope_outbound import UrlPolicy, pinned_client
from reelscope_storage import open_storage

from reelscope_notification.config import NotificationSettings
from reelscope_notification.email import SmtpConfig
from reelscope_notification.ledger import ChannelLedger
from reelscope_notification.notify import Notifier


def build_handler(
    settings: NotificationSettings, flags: FeatureFlags | None = None
) -> Callable[[WorkerContext], Handler]:
    """Create the HTTP clients (address-checking; the webhook's traced), the SMTP config and the channel ledger
    once per process; the worker runtime supplies broker and telemetry."""

    def factory(ctx: WorkerContext) -> Handler:
        policy = UrlPolicy.from_settings(settings)
        webhook_client = pinned_client(policy, timeout=settings.webhook_timeout_s)
        HTTPXClientInstrumentor.instrument_client(webhook_client, tracer_provider=ctx.telemetry.tracer_provider)
        # Not instrumented: the Slack URL is a secret and httpx instrumentation would record it on a span.
        slack_client = pinned_client(
            dataclasses.replace(policy, subject="Slack URL"), timeout=settings.webhook_timeout_s
        )
        notifier = Notifier(
            settings,
            ctx.telemetry,
            webhook_client,
            slack_client,
            ChannelLedger(open_storage(settings)),
            SmtpConfig.from_settings(settings),
            flags=flags or FeatureFlags(),
        )

        async def handle(event: JobEvent) -> None:
            if not isinstance(event, JobCompleted | JobFailed | JobCancelled):
                raise StageFailed(f"notification cannot handle a {event.kind} message")
            await ctx.broker.publish(await notifier.notify(event))

        return handle

    return factory


async def record_give_up(ctx: WorkerContext, event: JobEvent, reason: str) -> None:
    """A channel never answered well enough: record the notification as failed (the message is parked)."""
    await ctx.broker.publish(JobNotified(job_id=event.job_id, delivered=False, detail=reason))
