"""What one attempt on one channel (webhook, Slack, email) came to, shared by every channel.

Outcomes are the metric's fixed values: `delivered`, `rejected` (the receiver said no: final), `refused` (we
would not call it: final), `error` (transient: worth another attempt) and `skipped` (nothing to do)."""

from dataclasses import dataclass
from typing import Literal

import httpx
from reelscope_contracts import JobCancelled, JobCompleted, JobFailed
from reelscope_telemetry import Telemetry, attributes

Channel = Literal["webhook", "slack", "email"]
FinalEvent = JobCompleted | JobFailed | JobCancelled


@dataclass(frozen=True)
class DeliveryResult:
    """Whether the receiver accepted the delivery, and a line saying what happened."""

    delivered: bool
    outcome: str
    detail: str
    transient: bool = False
    """Worth another attempt (5xx, 408, 429, timeout, connection error, SMTP 4xx)."""


def http_answer(response: httpx.Response, who: str) -> DeliveryResult:
    """Classify an HTTP answer: 2xx delivered, 3xx refused (never followed), 5xx/408/429 transient, 4xx final."""
    if response.is_success:
        return DeliveryResult(True, "delivered", f"{who} answered {response.status_code}")
    if response.is_redirect:
        target = response.headers.get("location", "?")
        return DeliveryResult(
            False,
            "refused",
            f"{who} answered {response.status_code} (redirect to {target[:200]}); redirects are not followed: "
            f"a {who} must answer, not redirect",
        )
    if response.status_code >= 500 or response.status_code in (408, 429):
        return DeliveryResult(False, "error", f"{who} answered {response.status_code}", True)
    return DeliveryResult(False, "rejected", f"{who} answered {response.status_code}")


def count(telemetry: Telemetry, channel: Channel, outcome: str) -> None:
    """One attempt on one channel, in `reelscope.notifications.deliveries`."""
    telemetry.instruments.notification_deliveries.add(
        1, {attributes.NOTIFICATION_CHANNEL: channel, attributes.NOTIFICATION_OUTCOME: outcome}
    )
