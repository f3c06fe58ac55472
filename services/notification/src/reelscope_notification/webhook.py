"""Webhook payloads and their delivery over a traced HTTP client (the trace ends with the call).

A delivery's id is derived from the job and the event (`delivery_id()`), so every retry of the same
notification carries the same id and a receiver can drop duplicates. A 5xx answer, a timeout or a
network error is transient (the consume loop retries it with backoff); a 4xx answer is the receiver
refusing, and is final."""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry.trace import StatusCode
from reelscope_contracts import JobCancelled, JobCompleted, JobFailed
from reelscope_telemetry import Telemetry, attributes, get_logger

log = get_logger(__name__)

USER_AGENT = "Reelscope-Webhook/0.1"


@dataclass(frozen=True)
class DeliveryResult:
    """Whether the receiver accepted the delivery, and a line saying what happened."""

    delivered: bool
    outcome: str
    detail: str
    transient: bool = False
    """Worth another attempt (5xx, 408, 429, timeout, connection error)."""


FinalEvent = JobCompleted | JobFailed | JobCancelled


def payload(event: FinalEvent, delivery_id: str) -> dict[str, Any]:
    """The JSON body a receiver gets; `delivery_id` is unique per delivery, for deduplication."""
    body: dict[str, Any] = {
        "delivery_id": delivery_id,
        "job_id": event.job_id,
        "occurred_at": event.occurred_at.isoformat(),
    }
    if isinstance(event, JobCompleted):
        body["status"] = "completed"
        body["transcript"] = event.transcript.text if event.transcript else None
        body["transcription_skipped_reason"] = event.transcription_skipped_reason
    elif isinstance(event, JobFailed):
        body["status"] = "failed"
        body["failed_stage"] = event.stage.value
        body["reason"] = event.reason
        body["failure_category"] = event.category.value
    else:
        body["status"] = "cancelled"
        body["cancelled_during_stage"] = event.stage.value if event.stage else None
        body["reason"] = event.reason
    return body


DELIVERY_NAMESPACE = uuid.UUID("6f1d3c2e-8b1a-4e55-9f0c-2a7d5e3b9c41")


def delivery_id(event: FinalEvent) -> str:
    """Stable per job and outcome: the same on every attempt."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{event.job_id}/{event.kind}").hex


async def deliver(client: httpx.AsyncClient, telemetry: Telemetry, event: FinalEvent, url: str) -> DeliveryResult:
    """POST the payload once and say what happened; `transient` results are worth retrying."""
    delivery = delivery_id(event)
    started = time.perf_counter()
    with telemetry.tracer.start_as_current_span("webhook.deliver") as span:
        span.set_attribute("reelscope.webhook.delivery_id", delivery)
        try:
            response = await client.post(
                url,
                json=payload(event, delivery),
                headers={"User-Agent": USER_AGENT, "X-Reelscope-Delivery": delivery},
            )
        except httpx.HTTPError as exc:
            result = DeliveryResult(False, "error", f"webhook unreachable: {type(exc).__name__}: {exc}", True)
        else:
            if response.is_success:
                result = DeliveryResult(True, "delivered", f"webhook answered {response.status_code}")
            elif response.status_code >= 500 or response.status_code in (408, 429):
                result = DeliveryResult(False, "error", f"webhook answered {response.status_code}", True)
            else:
                result = DeliveryResult(False, "rejected", f"webhook answered {response.status_code}")
        span.set_attribute(attributes.WEBHOOK_OUTCOME, result.outcome)
        if not result.delivered:
            span.set_status(StatusCode.ERROR, result.detail)
    outcome = {attributes.WEBHOOK_OUTCOME: result.outcome}
    telemetry.instruments.webhook_deliveries.add(1, outcome)
    telemetry.instruments.webhook_duration.record(time.perf_counter() - started, outcome)
    log.info("webhook delivery", outcome=result.outcome, detail=result.detail, delivery_id=delivery)
    return result
