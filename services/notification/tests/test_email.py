"""Email over a real SMTP server (aiosmtpd on 127.0.0.1) that requires STARTTLS with a certificate from a
throwaway CA: what arrives and how, which recipient wins, and how SMTP failures are classified."""

from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from opentelemetry.trace import StatusCode
from reelscope_contracts import FailureCategory, JobFailed, JobOwner, StageName
from reelscope_messaging import RetryLater
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import NotifierFactory, SmtpServer, free_port

pytestmark = pytest.mark.unit

SENDER = "reelscope@example.org"


def _failed(owner: JobOwner | None = None, webhook_url: str | None = None) -> JobFailed:
    return JobFailed(
        job_id="job-mail",
        stage=StageName.TRANSCODE,
        reason="input file is empty (0 bytes)",
        category=FailureCategory.INVALID_INPUT,
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
        webhook_url=webhook_url,
        owner=owner,
    )


def _smtp(server: SmtpServer, **more: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_from": SENDER,
        "smtp_ca_file": server.ca_file,
        **more,
    }


async def test_the_email_arrives_over_tls_to_the_keys_address(
    make_notifier: NotifierFactory, smtp_server: SmtpServer, telemetry: CapturedTelemetry
) -> None:
    """The key's `email_to` wins over REELSCOPE_EMAIL_TO; the server saw STARTTLS (the session was encrypted,
    verified against the private CA of REELSCOPE_SMTP_CA_FILE); subject and body name job, outcome and reason."""
    notifier = make_notifier(**_smtp(smtp_server, email_to="ops@example.org"))
    owner = JobOwner(tenant="acme", key_id="key_e", email_to="owner@example.com")
    notified = await notifier.notify(_failed(owner))
    ((message, encrypted),) = smtp_server.messages
    assert encrypted
    assert message["To"] == "owner@example.com"
    assert message["From"] == SENDER
    assert message["Subject"] == "Reelscope job job-mail failed"
    body = message.get_content()
    assert "Failed in transcode: input file is empty (0 bytes)" in body
    assert "Category: invalid_input" in body
    assert notified.delivered
    assert notified.detail == "email: delivered (SMTP accepted the message for 1 recipient(s))"
    (span,) = [s for s in telemetry.spans() if s.name == "email.send"]
    assert span.attributes is not None
    assert span.attributes["reelscope.notification.outcome"] == "delivered"


async def test_the_global_recipient_serves_keys_without_one(
    make_notifier: NotifierFactory, smtp_server: SmtpServer
) -> None:
    """An owner without `email_to` gets REELSCOPE_EMAIL_TO; without REELSCOPE_SMTP_HOST no email is attempted."""
    await make_notifier(**_smtp(smtp_server, email_to="ops@example.org")).notify(
        _failed(JobOwner(tenant="acme", key_id="key_g"))
    )
    assert [m["To"] for m, _ in smtp_server.messages] == ["ops@example.org"]
    notified = await make_notifier(email_to="ops@example.org").notify(_failed())
    assert notified.skipped
    assert len(smtp_server.messages) == 1


async def test_an_untrusted_certificate_is_not_sent_to(make_notifier: NotifierFactory, smtp_server: SmtpServer) -> None:
    """Without the private CA the server's certificate does not verify: nothing is sent (retried, not leaked)."""
    notifier = make_notifier(**_smtp(smtp_server, email_to="ops@example.org", smtp_ca_file=None))
    with pytest.raises(RetryLater, match="email: error") as retry:
        await notifier.notify(_failed())
    assert "CERTIFICATE_VERIFY_FAILED" in retry.value.reason
    assert smtp_server.messages == []


async def test_smtp_down_is_transient(make_notifier: NotifierFactory, telemetry: CapturedTelemetry) -> None:
    """Nothing listening on the SMTP port: RetryLater naming the email channel, metric outcome `error`."""
    notifier = make_notifier(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_from=SENDER, email_to="a@example.org")
    with pytest.raises(RetryLater, match=r"email: error \(SMTP server unreachable"):
        await notifier.notify(_failed())
    points = telemetry.metric_points("reelscope.notifications.deliveries")
    assert [
        (p.attributes["reelscope.notification.channel"], p.attributes["reelscope.notification.outcome"]) for p in points
    ] == [("email", "error")]


async def test_a_550_is_final_for_email_and_the_webhook_is_still_delivered(
    make_notifier: NotifierFactory, smtp_server: SmtpServer, receiver: Any, telemetry: CapturedTelemetry
) -> None:
    """The server answers 550 to the recipient: email is `rejected` (not retried: no RetryLater, and a second
    run does not try it again), the webhook is delivered, and `delivered` follows the webhook."""
    smtp_server.refuse_rcpt = "550 5.1.1 mailbox unavailable"
    notifier = make_notifier(**_smtp(smtp_server, email_to="gone@example.org"))
    event = _failed(webhook_url=receiver.url())
    notified = await notifier.notify(event)
    assert notified.delivered
    assert notified.detail.startswith("webhook: delivered (webhook answered 204); email: rejected (SMTP refused")
    assert "550" in notified.detail
    assert "mailbox unavailable" in notified.detail
    assert len(receiver.requests) == 1
    assert smtp_server.messages == []
    (span,) = [s for s in telemetry.spans() if s.name == "email.send"]
    assert span.status.status_code is StatusCode.ERROR
    again = await notifier.notify(event)
    assert again.detail == notified.detail
    assert len(receiver.requests) == 1


async def test_a_4xx_recipient_answer_is_transient(make_notifier: NotifierFactory, smtp_server: SmtpServer) -> None:
    """451 (try again later, e.g. greylisting) is worth another attempt."""
    smtp_server.refuse_rcpt = "451 4.7.1 greylisted, try again later"
    with pytest.raises(RetryLater, match="451"):
        await make_notifier(**_smtp(smtp_server, email_to="a@example.org")).notify(_failed())


async def test_a_server_without_starttls_gets_no_mail(make_notifier: NotifierFactory, tmp_path: Any) -> None:
    """STARTTLS is required by default: a server that does not offer it is `refused` (final), nothing is sent."""
    received: list[bytes] = []

    class Accept:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
            received.append(envelope.original_content or b"")
            return "250 OK"

    port = free_port()
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notified = await make_notifier(
            smtp_host="127.0.0.1", smtp_port=port, smtp_from=SENDER, email_to="a@example.org"
        ).notify(_failed())
    finally:
        controller.stop()
    assert received == []
    assert notified.delivered is False
    assert notified.detail.startswith("email: refused (SMTP: ")
    assert "STARTTLS" in notified.detail
