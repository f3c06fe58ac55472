"""End to end on the local stack: a real delivery's `Reelscope-Signature` verifies with the submitting API key's
signing secret (derived from the stack's master secret as docs/webhooks.md says) under an independent
implementation (written here, not importing our signer), and fails for a tampered body, the master secret itself
or a wrong secret; the stack's ingest refuses webhooks to private addresses outside its allowlist."""

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from reelscope_cli.client import ApiClient
from reelscope_cli.samples import make_garbled_clip, make_short_clip
from reelscope_cli.stack.components import webhook_signing_secrets_file
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

TOLERANCE_S = 300


def verify(header: str, raw_body: bytes, secret: str, now: float) -> bool:
    """Accept when the timestamp is within 5 minutes and any v1 equals HMAC-SHA256(secret, "<t>." + body)."""
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.partition("=")
        fields.setdefault(key.strip(), []).append(value.strip())
    (timestamp,) = fields.get("t", [""])
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def key_secret(settings: StackSettings) -> str:
    """The stack key's current (generation 1) signing secret: whsec_ + HMAC-SHA256(master, label), done here."""
    (master,) = json.loads(webhook_signing_secrets_file(settings).read_text())
    key_id = settings.api_key_file.read_text().strip().split("_")[1]
    label = f"reelscope-webhook-signing/{key_id}/1".encode()
    return "whsec_" + hmac.new(master.encode(), label, hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def delivery(
    local_stack: StackSettings, webhook_receiver: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One job (a garbled MP4: it passes ingest's check and fails fast in transcode) and its webhook delivery."""
    media: Path = tmp_path_factory.mktemp("signed")
    fake = make_garbled_clip(media / "garbled.mp4", make_short_clip(media / "whole.mp4"))
    with ApiClient.for_stack(local_stack) as api:
        job_id = api.submit(fake, webhook_receiver.url)["job_id"]
        api.wait(job_id, timeout_s=120)
    deadline = time.monotonic() + 60
    while not webhook_receiver.of_job(job_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    (received,) = webhook_receiver.of_job(job_id)
    return dict(received)


def test_a_real_delivery_verifies_with_the_keys_secret(local_stack: StackSettings, delivery: dict[str, Any]) -> None:
    """The raw body verifies with the submitting key's signing secret; the delivery id header matches the body."""
    secret = key_secret(local_stack)
    header = delivery["headers"]["Reelscope-Signature"]
    assert verify(header, delivery["raw"], secret, time.time())
    assert delivery["headers"]["X-Reelscope-Delivery"] == delivery["body"]["delivery_id"]
    assert delivery["body"]["status"] == "failed"


def test_a_tampered_body_or_a_wrong_secret_does_not_verify(
    local_stack: StackSettings, delivery: dict[str, Any]
) -> None:
    """Changing one byte of the body, using the master secret or another secret, or replaying it 6 minutes later
    fails verification."""
    secret = key_secret(local_stack)
    (master,) = json.loads(webhook_signing_secrets_file(local_stack).read_text())
    header, raw = delivery["headers"]["Reelscope-Signature"], delivery["raw"]
    tampered = raw.replace(b'"failed"', b'"complet"')
    assert tampered != raw
    assert not verify(header, tampered, secret, time.time())
    assert not verify(header, raw, "0" * 64, time.time())
    assert not verify(header, raw, master, time.time())  # a key's deliveries are signed with its own secret only
    assert not verify(header, raw, secret, time.time() + 360)


def test_the_stack_refuses_a_webhook_to_a_private_address(local_stack: StackSettings, tmp_path: Path) -> None:
    """The stack allows 127.0.0.0/8 only: a webhook to 10.0.0.1 is a 422 with the reason."""
    clip = make_short_clip(tmp_path / "clip.mp4")
    with clip.open("rb") as handle:
        response = httpx.post(
            f"{local_stack.ingest_url}/v1/jobs",
            files={"file": ("clip.mp4", handle)},
            data={"webhook_url": "http://10.0.0.1/hook"},
            headers={"Authorization": f"Bearer {local_stack.api_key_file.read_text().strip()}"},
            timeout=30,
        )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_webhook_url"
    assert "10.0.0.1, a private address" in response.json()["detail"]
