"""Stripe-style webhook signatures: `Reelscope-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`.

Each v1 is HMAC-SHA256 over `"<t>.".encode() + body` with one active secret, so during a rotation a receiver
holding either the old or the new secret can verify. The body signed is the exact bytes sent (docs/webhooks.md).

An API key's secret is never stored nor carried in a message: it is derived from a master secret, the key id and
a generation number (`key_signing_secret`), so ingest can show it once and notification can recompute it. Here
because both of them need it, and both already depend on this library."""

import hashlib
import hmac
from collections.abc import Sequence

from pydantic import SecretStr

SIGNATURE_HEADER = "Reelscope-Signature"
KEY_SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix that marks a key secret, not a secret


def signature(secret: SecretStr, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under one secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[SecretStr], timestamp: int, body: bytes) -> str:
    """The header value: the timestamp, then one v1 per active secret (current first)."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])


def key_signing_secret(master: SecretStr, key_id: str, generation: int) -> SecretStr:
    """The signing secret of one generation of one API key: `whsec_` + hex HMAC-SHA256(master, label)."""
    label = f"reelscope-webhook-signing/{key_id}/{generation}".encode()
    digest = hmac.new(master.get_secret_value().encode(), label, hashlib.sha256).hexdigest()
    return SecretStr(KEY_SECRET_PREFIX + digest)


def delivery_secrets(
    masters: Sequence[SecretStr], key_id: str | None = None, generations: Sequence[int] = ()
) -> list[SecretStr]:
    """The secrets one delivery is signed with: without a key, the master secrets themselves; with one, the key's
    secret for each valid generation under each master (current master first, then current generation first),
    so a master rotation and a key rotation can each be under way."""
    if key_id is None:
        return list(masters)
    return [key_signing_secret(master, key_id, generation) for master in masters for generation in generations]
