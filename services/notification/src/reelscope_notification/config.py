"""Notification settings, from `REELSCOPE_*` env vars; without a webhook signing secret it refuses to start, and
with an SMTP host but no sender address or an unreadable CA or password file it refuses too."""

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from reelscope_messaging import WorkerSettings
from reelscope_outbound import OutboundSettings, SigningSettings
from reelscope_storage import StorageSettings


class NotificationSettings(WorkerSettings, StorageSettings, OutboundSettings, SigningSettings):
    """How webhook, Slack and email deliveries behave (docs/webhooks.md, docs/notifications.md); storage holds
    the record of which jobs, and which of their channels, were notified."""

    # A validation error would otherwise echo its input, the signing secrets included.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    prefetch: int = Field(default=10, ge=1, le=1000)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    slack_webhook_url: SecretStr | None = Field(
        default=None,
        description="Slack incoming-webhook URL for every job; an API key's own Slack URL wins over it",
    )
    email_to: str | None = Field(
        default=None, description="Default email recipient(s), comma-separated; an API key's own address wins"
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; without it no email is sent")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = Field(default=None, description="A file holding the SMTP password")
    smtp_from: str | None = Field(default=None, description="Sender address; required with REELSCOPE_SMTP_HOST")
    smtp_starttls: bool = Field(default=True, description="Require STARTTLS (never send mail in clear text)")
    smtp_ca_file: Path | None = Field(default=None, description="PEM CA bundle for a private SMTP server's cert")
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _check_smtp(self) -> Self:
        if self.smtp_password is None and self.smtp_password_file is not None:
            try:
                self.smtp_password = SecretStr(self.smtp_password_file.read_text().strip())
            except OSError as exc:
                raise ValueError(f"cannot read REELSCOPE_SMTP_PASSWORD_FILE: {exc.strerror}") from None
        if self.smtp_host is not None:
            if not self.smtp_from:
                raise ValueError("REELSCOPE_SMTP_HOST is set but REELSCOPE_SMTP_FROM (the sender address) is not")
            if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
                raise ValueError(f"REELSCOPE_SMTP_CA_FILE {self.smtp_ca_file} is not a readable file")
        return self
