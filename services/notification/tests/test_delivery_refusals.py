"""At delivery the webhook's address is checked again on the connection itself: a non-public address, or a
redirect, is a final `refused` outcome (never retried), and nothing reaches the refused address."""

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from pydantic import SecretStr
from reelscope_contracts import JobCompleted
from reelscope_notification.webhook import deliver
from reelscope_outbound import IPAddress, UrlPolicy, pinned_client
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.unit

SECRETS = [SecretStr("current-secret-0123456789abcdef0123456789")]

REFUSED_URLS = [
    "http://127.0.0.1:{port}/hook",
    "http://[::1]:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://0.0.0.0:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://localhost:{port}/hook",
]


def _completed() -> JobCompleted:
    return JobCompleted(job_id="job-refused", transcript=None, occurred_at=datetime(2030, 1, 1, tzinfo=UTC))


def _outcomes(telemetry: CapturedTelemetry) -> dict[str, int]:
    return {
        str(p.attributes["reelscope.webhook.outcome"]): int(p.value)
        for p in telemetry.metric_points("reelscope.webhook.deliveries")
    }


@pytest.mark.parametrize("template", REFUSED_URLS)
async def test_non_public_webhooks_are_refused_at_delivery(
    template: str,
    receiver: Any,
    telemetry: CapturedTelemetry,
) -> None:
    """Without an allowlist each address is refused (final, not transient), recorded as outcome `refused`
    on the span and the metric, and the local receiver never gets a request."""
    url = template.format(port=receiver.port)
    async with pinned_client(UrlPolicy(), timeout=5) as client:
        result = await deliver(client, telemetry.telemetry, _completed(), url, SECRETS)
    assert (result.delivered, result.outcome, result.transient) == (False, "refused", False)
    assert "only public addresses are allowed" in result.detail
    assert receiver.requests == []
    assert _outcomes(telemetry) == {"refused": 1}
    (span,) = [s for s in telemetry.spans() if s.name == "webhook.deliver"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["reelscope.webhook.outcome"] == "refused"


async def test_a_name_rebound_to_loopback_since_submission_is_refused(telemetry: CapturedTelemetry) -> None:
    """DNS now answers 127.0.0.1 for a name that was public at submission: the delivery is refused."""

    async def rebound(host: str, port: int) -> Sequence[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    async with pinned_client(UrlPolicy(resolver=rebound), timeout=5) as client:
        result = await deliver(client, telemetry.telemetry, _completed(), "https://hooks.example/x", SECRETS)
    assert result.outcome == "refused"
    assert "127.0.0.1, a loopback address" in result.detail


async def test_a_redirect_is_refused_and_not_followed(
    redirecting_receiver: Any,
    telemetry: CapturedTelemetry,
) -> None:
    """A real receiver answering 302 to loopback: outcome `refused`, one request only (the redirect is not
    followed, not even to the allowlisted receiver itself)."""
    policy = UrlPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    async with pinned_client(policy, timeout=5) as client:
        result = await deliver(client, telemetry.telemetry, _completed(), redirecting_receiver.url(), SECRETS)
    assert (result.outcome, result.transient) == ("refused", False)
    assert "redirects are not followed" in result.detail
    assert [r["path"] for r in redirecting_receiver.requests] == ["/hook"]


async def test_an_unresolvable_host_is_worth_retrying(telemetry: CapturedTelemetry) -> None:
    """A name that does not resolve at delivery is a transient error (DNS may come back), not a refusal."""
    async with pinned_client(UrlPolicy(), timeout=5) as client:
        result = await deliver(client, telemetry.telemetry, _completed(), "https://nowhere.invalid/x", SECRETS)
    assert (result.outcome, result.transient) == ("error", True)
    assert "does not resolve" in result.detail
