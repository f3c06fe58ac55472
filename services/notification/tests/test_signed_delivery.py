"""Real deliveries to a local receiver carry a Stripe-style signature that an independent verifier (written
here, from docs/webhooks.md, not importing our signer) accepts, and rejects for a tampered body or a wrong
secret; during a rotation both secrets verify."""

import hashlib
import hmac
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from reelscope_contracts import FailureCategory, JobFailed, StageName
from reelscope_notification.webhook import deliver
from reelscope_outbound import UrlPolicy, pinned_client
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.unit

CURRENT = "current-secret-0123456789abcdef0123456789"
PREVIOUS = "previous-secret-fedcba9876543210fedcba9876"
NOW = 1_900_000_000
LOCAL = UrlPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))


def verify(header: str, body: bytes, secret: str, now: int, tolerance_s: int = 300) -> bool:
    """The receiver's side, as docs/webhooks.md describes it."""
    parts = [item.split("=", 1) for item in header.split(",")]
    timestamps = [v for k, v in parts if k == "t"]
    candidates = [v for k, v in parts if k == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or abs(now - int(timestamps[0])) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _failed() -> JobFailed:
    return JobFailed(
        job_id="job-signed",
        stage=StageName.TRANSCODE,
        reason="input file is empty (0 bytes)",
        category=FailureCategory.INVALID_INPUT,
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


async def test_a_delivery_is_signed_over_the_exact_bytes_sent(receiver: Any, telemetry: CapturedTelemetry) -> None:
    """The receiver's raw body verifies with the secret; a tampered body, a wrong secret, or a stale timestamp
    does not; the delivery id header is there and matches the body."""
    async with pinned_client(LOCAL, timeout=5) as client:
        result = await deliver(
            client, telemetry.telemetry, _failed(), receiver.url(), [SecretStr(CURRENT)], clock=lambda: NOW
        )
    assert result.delivered, result
    (request,) = receiver.requests
    header, body = request["headers"]["Reelscope-Signature"], request["body"]
    assert header.startswith(f"t={NOW},v1=")
    assert verify(header, body, CURRENT, NOW)
    assert not verify(header, body.replace(b"empty", b"EMPTY"), CURRENT, NOW)
    assert not verify(header, body, "wrong-secret-0123456789abcdef0123456789", NOW)
    assert not verify(header, body, CURRENT, NOW + 301)
    assert json.loads(body)["delivery_id"] == request["headers"]["X-Reelscope-Delivery"]
    assert request["headers"]["Content-Type"] == "application/json"


async def test_during_rotation_both_secrets_verify(receiver: Any, telemetry: CapturedTelemetry) -> None:
    """With [current, previous] configured, the header carries two v1s: either secret verifies alone."""
    async with pinned_client(LOCAL, timeout=5) as client:
        await deliver(
            client,
            telemetry.telemetry,
            _failed(),
            receiver.url(),
            [SecretStr(CURRENT), SecretStr(PREVIOUS)],
            clock=lambda: NOW,
        )
    (request,) = receiver.requests
    header = request["headers"]["Reelscope-Signature"]
    assert header.count("v1=") == 2
    assert verify(header, request["body"], CURRENT, NOW)
    assert verify(header, request["body"], PREVIOUS, NOW)
    assert CURRENT not in header
    assert PREVIOUS not in header
