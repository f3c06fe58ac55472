"""Notification refuses to start without a usable signing secret, and never prints one."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from reelscope_notification.config import NotificationSettings

CURRENT_SECRET = "current-secret-0123456789abcdef0123456789"
PREVIOUS_SECRET = "previous-secret-fedcba9876543210fedcba9876"

pytestmark = pytest.mark.unit


def test_without_a_signing_secret_notification_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """No REELSCOPE_WEBHOOK_SIGNING_SECRETS(_FILE): settings fail, naming both variables."""
    monkeypatch.delenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS", raising=False)
    monkeypatch.delenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE", raising=False)
    with pytest.raises(ValidationError, match="REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE"):
        NotificationSettings()


def test_a_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret under 32 characters is refused, by position, without echoing it."""
    monkeypatch.setenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS", json.dumps([CURRENT_SECRET, "too-short-secret"]))
    with pytest.raises(ValidationError, match="secret #2 is shorter than 32 characters") as refused:
        NotificationSettings()
    assert "too-short-secret" not in str(refused.value)


def test_secrets_come_from_the_env_in_order_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON list in the env: current first; the settings' repr hides the values."""
    monkeypatch.setenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS", json.dumps([CURRENT_SECRET, PREVIOUS_SECRET]))
    settings = NotificationSettings()
    assert [s.get_secret_value() for s in settings.webhook_signing_secrets] == [CURRENT_SECRET, PREVIOUS_SECRET]
    assert CURRENT_SECRET not in repr(settings)
    assert PREVIOUS_SECRET not in str(settings.model_dump())


def test_secrets_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE (a compose secret) holds the JSON list."""
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps([CURRENT_SECRET]))
    monkeypatch.delenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS", raising=False)
    monkeypatch.setenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE", str(path))
    assert NotificationSettings().webhook_signing_secrets[0].get_secret_value() == CURRENT_SECRET
    path.write_text("not json")
    with pytest.raises(ValidationError, match="cannot read REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE"):
        NotificationSettings()


def test_smtp_needs_a_sender_and_reads_its_password_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """REELSCOPE_SMTP_HOST without REELSCOPE_SMTP_FROM is refused at start-up; the password comes from
    REELSCOPE_SMTP_PASSWORD_FILE and never prints; a missing CA file is refused, naming the variable."""
    monkeypatch.setenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS", json.dumps([CURRENT_SECRET]))
    monkeypatch.setenv("REELSCOPE_SMTP_HOST", "smtp.example.org")
    with pytest.raises(ValidationError, match="REELSCOPE_SMTP_FROM"):
        NotificationSettings()
    password = tmp_path / "smtp-password"
    password.write_text("smtp-pass-0123456789\n")
    monkeypatch.setenv("REELSCOPE_SMTP_FROM", "reelscope@example.org")
    monkeypatch.setenv("REELSCOPE_SMTP_PASSWORD_FILE", str(password))
    settings = NotificationSettings()
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "smtp-pass-0123456789"
    assert (settings.smtp_port, settings.smtp_starttls) == (587, True)
    assert "smtp-pass-0123456789" not in repr(settings)
    monkeypatch.setenv("REELSCOPE_SMTP_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="REELSCOPE_SMTP_CA_FILE"):
        NotificationSettings()
