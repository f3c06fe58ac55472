"""Slack incoming-webhook messages to a real local receiver: what they say, which URL wins, what is retried, and
that a Slack URL pointing inside the network is refused like a webhook's."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from reelscope_contracts import JobCompleted, JobOwner, TranscriptInfo
from reelscope_messaging import RetryLater
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import NotifierFactory, Receiver

pytestmark = pytest.mark.unit

SPOKEN = "hello and welcome to the quarterly review " * 20


def _completed(owner: JobOwner | None = None, job_id: str = "job-slack") -> JobCompleted:
    transcript = TranscriptInfo(
        text=SPOKEN,
        language="en",
        engine="pocketsphinx",
        word_count=140,
        text_key=f"jobs/{job_id}/t.txt",
        vtt_key=f"jobs/{job_id}/t.vtt",
        srt_key=f"jobs/{job_id}/t.srt",
    )
    return JobCompleted(job_id=job_id, transcript=transcript, occurred_at=datetime(2030, 1, 1, tzinfo=UTC), owner=owner)


def _outcomes(telemetry: CapturedTelemetry) -> dict[tuple[str, str], int]:
    return {
        (str(p.attributes["reelscope.notification.channel"]), str(p.attributes["reelscope.notification.outcome"])): int(
            p.value
        )
        for p in telemetry.metric_points("reelscope.notifications.deliveries")
    }


async def test_the_keys_slack_url_wins_over_the_global_one(
    make_notifier: NotifierFactory, scripted_receiver: Callable[[list[int]], Receiver], telemetry: CapturedTelemetry
) -> None:
    """With both set, only the key's URL gets the message: JSON with `text` and `blocks` naming the job, its
    outcome and a transcript excerpt (cut, not the whole text); the global receiver gets nothing."""
    global_slack, key_slack = scripted_receiver([]), scripted_receiver([])
    notifier = make_notifier(slack_webhook_url=global_slack.url("/global"))
    owner = JobOwner(tenant="acme", key_id="key_s", slack_webhook_url=key_slack.url("/key"))
    notified = await notifier.notify(_completed(owner))
    assert global_slack.requests == []
    (request,) = key_slack.requests
    message = json.loads(request["body"])
    assert request["headers"]["Content-Type"] == "application/json"
    assert "job-slack" in message["text"]
    assert "completed" in message["text"]
    shown = " ".join(block["text"]["text"] for block in message["blocks"])
    assert "*Reelscope job job-slack completed*" in shown
    assert "hello and welcome to the quarterly review" in shown
    assert SPOKEN.strip() not in shown
    assert "…" in shown
    assert (notified.delivered, notified.skipped) == (True, False)
    assert notified.detail == "slack: delivered (Slack answered 200)"
    assert _outcomes(telemetry) == {("slack", "delivered"): 1}
    (span,) = [s for s in telemetry.spans() if s.name == "slack.deliver"]
    assert span.attributes is not None
    assert span.attributes["reelscope.notification.outcome"] == "delivered"
    assert not any("/key" in str(value) for s in telemetry.spans() for value in (s.attributes or {}).values())


async def test_the_global_slack_url_serves_keys_without_one(
    make_notifier: NotifierFactory, scripted_receiver: Callable[[list[int]], Receiver]
) -> None:
    """An owner without a Slack URL (and a job without an owner) falls back to REELSCOPE_SLACK_WEBHOOK_URL."""
    global_slack = scripted_receiver([])
    notifier = make_notifier(slack_webhook_url=global_slack.url("/global"))
    await notifier.notify(_completed(JobOwner(tenant="acme", key_id="key_n"), job_id="job-a"))
    await notifier.notify(_completed(None, job_id="job-b"))
    assert [r["path"] for r in global_slack.requests] == ["/global", "/global"]


async def test_a_slack_500_is_retried_and_a_retry_does_not_repeat_the_webhook(
    make_notifier: NotifierFactory, scripted_receiver: Callable[[list[int]], Receiver], telemetry: CapturedTelemetry
) -> None:
    """Slack answers 500 then 200: the first attempt raises RetryLater (after the webhook was delivered); the
    retry posts Slack again but not the webhook, whose success the ledger recorded."""
    webhook, slack = scripted_receiver([204]), scripted_receiver([500])
    notifier = make_notifier(slack_webhook_url=slack.url())
    event = _completed().model_copy(update={"webhook_url": webhook.url()})
    with pytest.raises(RetryLater, match=r"slack: error \(Slack answered 500\)") as retry:
        await notifier.notify(event)
    assert "webhook: delivered" in retry.value.reason
    notified = await notifier.notify(event)
    assert len(webhook.requests) == 1
    assert len(slack.requests) == 2
    assert notified.delivered
    assert notified.detail == "webhook: delivered (webhook answered 204); slack: delivered (Slack answered 200)"
    assert _outcomes(telemetry) == {
        ("webhook", "delivered"): 1,
        ("webhook", "skipped"): 1,
        ("slack", "error"): 1,
        ("slack", "delivered"): 1,
    }


async def test_a_slack_404_is_final_for_slack_only(
    make_notifier: NotifierFactory, scripted_receiver: Callable[[list[int]], Receiver]
) -> None:
    """Slack answers 404 (the incoming webhook was removed): no retry, the webhook is still delivered, and
    `delivered` follows the webhook while the detail lists both."""
    webhook, slack = scripted_receiver([]), scripted_receiver([404])
    notifier = make_notifier(slack_webhook_url=slack.url())
    notified = await notifier.notify(_completed().model_copy(update={"webhook_url": webhook.url()}))
    assert notified.delivered
    assert notified.detail == "webhook: delivered (webhook answered 200); slack: rejected (Slack answered 404)"


async def test_a_slack_url_to_a_private_address_is_refused(
    make_notifier: NotifierFactory, receiver: Any, telemetry: CapturedTelemetry
) -> None:
    """Without an allowlist a key's Slack URL on loopback is refused (final, no request sent), with the reason
    naming the Slack URL; nothing delivered means `delivered` is false."""
    notifier = make_notifier(webhook_allowed_networks=[])
    owner = JobOwner(tenant="acme", key_id="key_p", slack_webhook_url=receiver.url())
    notified = await notifier.notify(_completed(owner))
    assert receiver.requests == []
    assert notified.delivered is False
    assert "slack: refused (Slack URL resolves to 127.0.0.1, a loopback address" in notified.detail
    (span,) = [s for s in telemetry.spans() if s.name == "slack.deliver"]
    assert span.status.status_code is StatusCode.ERROR
