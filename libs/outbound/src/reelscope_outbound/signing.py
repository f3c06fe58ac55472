"""Stripe-style webhook signatures: `Reelscope-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`.

Each v1 is HMAC-SHA256 over `"<t>.".encode() + body` with one active secret, so during a rotation a receiver
holding either the old or the new secret can verify. The body signed is the exact bytes sent (docs/webhooks.md).

An API key's secret is never stored nor carried in a message: it is derived from a master secret, the key id and
a generation number (`key_signing_secret`), so ingest can show it once and notification can recompute it. Here
because both of them need it, and both already depend on this library."""

import hashlib
import hmac
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SIGNATURE_HEADER = "Reelscope-Signature"
KEY_SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix that marks a key secret, not a secret
MIN_SECRET_CHARS = 32


class SigningSettings(BaseSettings):
    """The master webhook signing secrets: notification signs with them, ingest's key command shows the per-key
    secrets derived from them. Without one, both refuse to start."""

    # A validation error would otherwise echo its input, the signing secrets included.
    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore", hide_input_in_errors=True)

    webhook_signing_secrets: list[SecretStr] = Field(
        default_factory=list,
        description=(
            "JSON list of HMAC-SHA256 signing secrets (each at least 32 characters); the first is the current one, "
            "the others stay valid while receivers rotate: every delivery is signed with each"
        ),
    )
    webhook_signing_secrets_file: Path | None = Field(
        default=None,
        description="A file holding that JSON list (a compose or Kubernetes secret); used when the list is not set",
    )

    @model_validator(mode="after")
    def _require_signing_secret(self) -> Self:
        if not self.webhook_signing_secrets and self.webhook_signing_secrets_file is not None:
            try:
                loaded = json.loads(self.webhook_signing_secrets_file.read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot read REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE: {exc}") from None
            if not isinstance(loaded, list) or not all(isinstance(s, str) for s in loaded):
                raise ValueError("REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE must hold a JSON list of strings")
            self.webhook_signing_secrets = [SecretStr(s) for s in loaded]
        if not self.webhook_signing_secrets:
            raise ValueError(
                "no webhook signing secret: set REELSCOPE_WEBHOOK_SIGNING_SECRETS (a JSON list) "
                "or REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE"
            )
        for position, secret in enumerate(self.webhook_signing_secrets, start=1):
            if len(secret.get_secret_value()) < MIN_SECRET_CHARS:
                raise ValueError(f"webhook signing secret #{position} is shorter than {MIN_SECRET_CHARS} characters")
        return self


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
