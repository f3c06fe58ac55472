"""Per-API-key signing secrets: derived (never stored) from the master secret, the key id and a generation; a
delivery for a key in rotation carries one signature per valid generation, each verifying with the secret the
key's owner holds. The derivation and the verifier here are written from docs/webhooks.md, independently of
`reelscope_outbound.signing`."""

import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from reelscope_contracts import FailureCategory, JobFailed, JobOwner, StageName
from reelscope_outbound import key_signing_secret

from .conftest import MASTER_SECRET, NotifierFactory

pytestmark = pytest.mark.unit

OTHER_MASTER = "other-master-fedcba9876543210fedcba9876"
NOW = 1_900_000_000


def derive(master: str, key_id: str, generation: int) -> str:
    """docs/webhooks.md: whsec_ + hex HMAC-SHA256(master, "reelscope-webhook-signing/<key id>/<generation>")."""
    label = f"reelscope-webhook-signing/{key_id}/{generation}".encode()
    return "whsec_" + hmac.new(master.encode(), label, hashlib.sha256).hexdigest()


def verify(header: str, body: bytes, secret: str) -> bool:
    """The receiver's check (timestamp window left out: the clock is fixed here)."""
    fields = [item.split("=", 1) for item in header.split(",")]
    (timestamp,) = [v for k, v in fields if k == "t"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in fields if k == "v1")


def _failed(owner: JobOwner | None, url: str) -> JobFailed:
    return JobFailed(
        job_id="job-keyed",
        stage=StageName.TRANSCODE,
        reason="input file is empty (0 bytes)",
        category=FailureCategory.INVALID_INPUT,
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
        webhook_url=url,
        owner=owner,
    )


def test_derivation_is_stable_and_differs_per_key_and_generation() -> None:
    """The same inputs give the same secret (matching the documented formula); another key, another generation
    or another master gives another one."""
    master = SecretStr(MASTER_SECRET)
    secret = key_signing_secret(master, "key_a", 1).get_secret_value()
    assert secret == key_signing_secret(master, "key_a", 1).get_secret_value()
    assert secret == derive(MASTER_SECRET, "key_a", 1)
    assert secret.startswith("whsec_")
    assert len(secret) == len("whsec_") + 64
    others = {
        key_signing_secret(master, "key_b", 1).get_secret_value(),
        key_signing_secret(master, "key_a", 2).get_secret_value(),
        key_signing_secret(SecretStr(OTHER_MASTER), "key_a", 1).get_secret_value(),
    }
    assert secret not in others
    assert len(others) == 3
    assert MASTER_SECRET not in repr(key_signing_secret(master, "key_a", 1))


async def test_a_key_in_rotation_gets_one_signature_per_generation(
    make_notifier: NotifierFactory, receiver: Any
) -> None:
    """Owner with generations (2, 1): two v1s, the first verifying with generation 2's secret and the second with
    generation 1's; the master secret itself no longer verifies (deliveries are per key)."""
    notifier = dataclasses.replace(make_notifier(), clock=lambda: NOW)
    owner = JobOwner(tenant="acme", key_id="key_rot", signing_generations=(2, 1))
    notified = await notifier.notify(_failed(owner, receiver.url()))
    assert notified.delivered, notified
    (request,) = receiver.requests
    header, body = request["headers"]["Reelscope-Signature"], request["body"]
    signatures = [item.removeprefix("v1=") for item in header.split(",")[1:]]
    assert len(signatures) == 2
    gen2, gen1 = derive(MASTER_SECRET, "key_rot", 2), derive(MASTER_SECRET, "key_rot", 1)
    assert verify(f"t={NOW},v1={signatures[0]}", body, gen2)
    assert verify(f"t={NOW},v1={signatures[1]}", body, gen1)
    assert not verify(header, body, MASTER_SECRET)
    assert not verify(header, body, derive(MASTER_SECRET, "key_rot", 3))


async def test_master_rotation_signs_each_generation_under_each_master(
    make_notifier: NotifierFactory, receiver: Any
) -> None:
    """Two master secrets (current first) and one generation: two v1s, one per master's derived key secret, so a
    receiver holding the key secret shown before or after the master rotation verifies."""
    notifier = make_notifier(webhook_signing_secrets=[MASTER_SECRET, OTHER_MASTER])
    owner = JobOwner(tenant="acme", key_id="key_m", signing_generations=(1,))
    await notifier.notify(_failed(owner, receiver.url()))
    (request,) = receiver.requests
    header, body = request["headers"]["Reelscope-Signature"], request["body"]
    assert header.count("v1=") == 2
    assert verify(header, body, derive(MASTER_SECRET, "key_m", 1))
    assert verify(header, body, derive(OTHER_MASTER, "key_m", 1))
    assert not verify(header, body, derive(MASTER_SECRET, "other_key", 1))


async def test_without_an_owner_the_master_secrets_sign(make_notifier: NotifierFactory, receiver: Any) -> None:
    """A job without an API key owner keeps today's behaviour: signed with the master secret itself."""
    notifier = make_notifier()
    await notifier.notify(_failed(None, receiver.url()))
    (request,) = receiver.requests
    assert verify(request["headers"]["Reelscope-Signature"], request["body"], MASTER_SECRET)
