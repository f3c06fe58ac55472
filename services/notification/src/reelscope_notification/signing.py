"""Stripe-style webhook signatures: `Reelscope-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`.

Each v1 is HMAC-SHA256 over `"<t>.".encode() + body` with one active secret, so during a rotation a receiver
holding either the old or the new secret can verify. The body signed is the exact bytes sent (docs/webhooks.md)."""

import hashlib
import hmac
from collections.abc import Sequence

from pydantic import SecretStr

SIGNATURE_HEADER = "Reelscope-Signature"


def signature(secret: SecretStr, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under one secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[SecretStr], timestamp: int, body: bytes) -> str:
    """The header value: the timestamp, then one v1 per active secret (current first)."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])
