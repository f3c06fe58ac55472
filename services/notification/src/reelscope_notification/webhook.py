"""Webhook payloads and their delivery over a traced HTTP client (the trace ends with the call).

A delivery's id is derived from the job and the event (`delivery_id()`), so every retry of the same
notification carries the same id and a receiver can drop duplicates. A 5xx answer, a timeout or a
network error is transient (the consume loop retries it with backoff); a 4xx answer is the receiver
refusing, and is final. A URL whose host resolves to a non-public address (checked again here, on the very
connection: DNS may have changed since submission) is `refused`, final; so is a redirect, which is never
followed. Every delivery is signed (`reelscope_outbound.signing`) over the exact bytes sent: with the master
secrets, or with the job owner's per-key secrets derived from them (`delivery_secrets`)."""

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from opentelemetry.trace import StatusCode
from pydantic import SecretStr
from reelscope_contracts import JobCompleted, JobFailed
from reelscope_flags import WEBHOOK_TARGET_FAILING, FeatureFlags
from reelscope_outbound import SIGNATURE_HEADER, HostUnresolved, OutboundRefused, signature_header
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_notification.results import DeliveryResult, FinalEvent, count, http_answer

log = get_logger(__name__)

USER_AGENT = "Reelscope-Webhook/0.1"
INJECTED_FAILURE = DeliveryResult(
    False, "error", f"webhook answered 503 (injected failure, flag {WEBHOOK_TARGET_FAILING}; no request sent)", True
)
"""What every attempt comes to while failure flag `webhookTargetFailing` is on: a transient 503, retried then parked."""


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


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
    try:
        response = await client.post(url, content=body, headers=headers)
    except HostUnresolved as exc:
        return DeliveryResult(False, "error", exc.reason, True)
    except OutboundRefused as exc:
        return DeliveryResult(False, "refused", exc.reason)
    except httpx.HTTPError as exc:
        return DeliveryResult(False, "error", f"webhook unreachable: {type(exc).__name__}: {exc}", True)
    return http_answer(response, "webhook")


async def deliver(
    client: httpx.AsyncClient,
    telemetry: Telemetry,
    event: FinalEvent,
    url: str,
    secrets: Sequence[SecretStr],
    clock: Callable[[], float] = time.time,
    flags: FeatureFlags | None = None,
) -> DeliveryResult:
    """POST the payload, signed with each of `secrets`, once and say what happened; `transient` results are worth
    retrying. While `flags` has `webhookTargetFailing` on, nothing is sent and the attempt fails as a 503 would.

    `client` must be a `reelscope_outbound.pinned_client` (it checks and pins the address it dials)."""
    delivery = delivery_id(event)
    body = json.dumps(payload(event, delivery), separators=(",", ":")).encode()
    headers = {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "X-Reelscope-Delivery": delivery,
        SIGNATURE_HEADER: signature_header(secrets, int(clock()), body),
    }
    started = time.perf_counter()
    with telemetry.tracer.start_as_current_span("webhook.deliver") as span:
        span.set_attribute("reelscope.webhook.delivery_id", delivery)
        if flags is not None and flags.enabled(WEBHOOK_TARGET_FAILING):
            span.set_attribute(attributes.FLAG_INJECTED, WEBHOOK_TARGET_FAILING)
            result = INJECTED_FAILURE
        else:
            result = await _post(client, url, body, headers)
        span.set_attribute(attributes.WEBHOOK_OUTCOME, result.outcome)
        if not result.delivered:
            span.set_status(StatusCode.ERROR, result.detail)
    outcome = {attributes.WEBHOOK_OUTCOME: result.outcome}
    telemetry.instruments.webhook_deliveries.add(1, outcome)
    telemetry.instruments.webhook_duration.record(time.perf_counter() - started, outcome)
    count(telemetry, "webhook", result.outcome)
    log.info("webhook delivery", outcome=result.outcome, detail=result.detail, delivery_id=delivery)
    return result
