"""One job's notification over every channel it has: the signed webhook, Slack and email.

Targets: the job's `webhook_url`; Slack from the API key (`owner.slack_webhook_url`) or else
`REELSCOPE_SLACK_WEBHOOK_URL`; email from the key (`owner.email_to`) or else `REELSCOPE_EMAIL_TO`, when SMTP is
configured. Every channel is tried on every attempt unless the ledger says it already reached a final outcome;
a transient failure of any channel raises RetryLater after the others were tried, and a final failure of one
channel (a Slack 4xx, an SMTP 5xx) is final for it alone. `JobNotified.delivered` follows the webhook when
there is one, else any channel."""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from reelscope_contracts import FailureCategory, JobNotified
from reelscope_flags import FeatureFlags
from reelscope_messaging import RetryLater
from reelscope_outbound import delivery_secrets
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_notification.config import NotificationSettings
from reelscope_notification.email import SmtpConfig, send_email
from reelscope_notification.ledger import ChannelLedger
from reelscope_notification.results import Channel, DeliveryResult, FinalEvent, count
from reelscope_notification.slack import deliver_slack
from reelscope_notification.webhook import deliver

log = get_logger(__name__)

Send = Callable[[], Awaitable[DeliveryResult]]


@dataclass(frozen=True)
class Notifier:
    """The per-process resources of every channel; `slack_client` must not be httpx-instrumented (its URL is a
    secret that instrumentation would record)."""

    settings: NotificationSettings
    telemetry: Telemetry
    webhook_client: httpx.AsyncClient
    slack_client: httpx.AsyncClient
    ledger: ChannelLedger
    smtp: SmtpConfig | None = None
    clock: Callable[[], float] = field(default=time.time)
    flags: FeatureFlags = field(default_factory=FeatureFlags)

    def targets(self, event: FinalEvent) -> dict[Channel, Send]:
        """The channels this job is to be told on, in order, each as a one-shot sender."""
        owner, settings = event.owner, self.settings
        sends: dict[Channel, Send] = {}
        if event.webhook_url is not None:
            url = event.webhook_url
            secrets = (
                delivery_secrets(settings.webhook_signing_secrets, owner.key_id, owner.signing_generations)
                if owner is not None
                else settings.webhook_signing_secrets
            )
            sends["webhook"] = lambda: deliver(
                self.webhook_client, self.telemetry, event, url, secrets, self.clock, self.flags
            )
        slack_url = (owner.slack_webhook_url if owner else None) or (
            settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else None
        )
        if slack_url:
            sends["slack"] = lambda: deliver_slack(self.slack_client, self.telemetry, event, slack_url)
        email_to = (owner.email_to if owner else None) or settings.email_to
        if email_to and self.smtp is not None:
            smtp = self.smtp
            sends["email"] = lambda: send_email(smtp, self.telemetry, event, email_to)
        elif email_to:
            log.warning("an email recipient is set but REELSCOPE_SMTP_HOST is not: no email sent")
        return sends

    async def notify(self, event: FinalEvent) -> JobNotified:
        """Try every channel not yet final; RetryLater if any failed transiently, else the job's JobNotified."""
        sends = self.targets(event)
        if "webhook" not in sends:
            self.telemetry.instruments.webhook_deliveries.add(1, {attributes.WEBHOOK_OUTCOME: "skipped"})
        if not sends:
            log.info("no webhook, Slack or email target; nothing to deliver")
            return JobNotified(
                job_id=event.job_id, delivered=False, skipped=True, detail="no webhook_url, Slack or email target given"
            )
        results: dict[Channel, DeliveryResult] = {}
        for channel, send in sends.items():
            earlier = await self.ledger.final_outcome(event.job_id, channel)
            if earlier is not None:
                count(self.telemetry, channel, "skipped")
                results[channel] = earlier
                continue
            results[channel] = result = await send()
            if not result.transient:
                await self.ledger.record(event.job_id, channel, result)
        detail = "; ".join(f"{channel}: {r.outcome} ({r.detail})" for channel, r in results.items())
        if any(r.transient for r in results.values()):
            raise RetryLater(detail, FailureCategory.PROCESSING_ERROR)
        webhook = results.get("webhook")
        delivered = webhook.delivered if webhook is not None else any(r.delivered for r in results.values())
        return JobNotified(job_id=event.job_id, delivered=delivered, detail=detail)
