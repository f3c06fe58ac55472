"""Slack incoming-webhook messages: the job's id, its outcome and why (or a transcript excerpt).

The URL is a secret (whoever has it can post to the channel), so it is never logged nor put on a span: the
client given here must not be httpx-instrumented (that would record `url.full`). It goes through the same
address-checking, pinned client and policy as webhooks: a Slack URL set on an API key is a URL a
user chose. Answers are classified like a webhook's: 5xx/408/429 and network errors are transient, another 4xx
(e.g. `404 no_service`: the webhook was removed) is final, a redirect is refused."""

import time
from typing import Any

import httpx
from opentelemetry.trace import StatusCode
from reelscope_outbound import HostUnresolved, OutboundRefused
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_notification.results import DeliveryResult, FinalEvent, count, http_answer
from reelscope_notification.summary import Summary, summarize

log = get_logger(__name__)

USER_AGENT = "Reelscope-Notification/0.1"


def _escape(text: str) -> str:
    """Slack's mrkdwn reads `&`, `<` and `>` as markup: escape them so a reason cannot ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(summary: Summary) -> dict[str, Any]:
    """The incoming-webhook body: `text` is the notification's fallback, `blocks` what the channel shows."""
    title = _escape(summary.title)
    body = "\n".join(_escape(line) for line in summary.lines)
    return {
        "text": f"{title}: {_escape(summary.lines[0])}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        ],
    }


async def deliver_slack(client: httpx.AsyncClient, telemetry: Telemetry, event: FinalEvent, url: str) -> DeliveryResult:
    """POST the message once and say what happened; `client` must be a `reelscope_outbound.pinned_client`."""
    with telemetry.tracer.start_as_current_span("slack.deliver") as span:
        started = time.perf_counter()
        try:
            response = await client.post(url, json=message(summarize(event)), headers={"User-Agent": USER_AGENT})
        except HostUnresolved as exc:
            result = DeliveryResult(False, "error", exc.reason, True)
        except OutboundRefused as exc:
            result = DeliveryResult(False, "refused", exc.reason)
        except httpx.HTTPError as exc:
            result = DeliveryResult(False, "error", f"Slack unreachable: {type(exc).__name__}", True)
        else:
            result = http_answer(response, "Slack")
        span.set_attribute(attributes.NOTIFICATION_OUTCOME, result.outcome)
        if not result.delivered:
            span.set_status(StatusCode.ERROR, result.detail)
    count(telemetry, "slack", result.outcome)
    log.info("slack delivery", outcome=result.outcome, detail=result.detail, seconds=time.perf_counter() - started)
    return result
