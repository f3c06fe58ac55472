"""Notification settings, from `REELSCOPE_*` env vars; without a webhook signing secret it refuses to start."""

import json
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from reelscope_messaging import WorkerSettings
from reelscope_outbound import OutboundSettings
from reelscope_storage import StorageSettings

MIN_SECRET_CHARS = 32


class NotificationSettings(WorkerSettings, StorageSettings, OutboundSettings):
    """How webhook deliveries behave and are signed; storage holds the record of which jobs were notified."""

    # A validation error would otherwise echo its input, the signing secrets included.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    prefetch: int = Field(default=10, ge=1, le=1000)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
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
