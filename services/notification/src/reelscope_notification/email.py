"""Email of a job's end over SMTP, with STARTTLS required by default (aiosmtplib).

SMTP's own codes say what is worth retrying: a 4xx reply (greylisting, a full mailbox, a busy server), a
connection error or a timeout is transient; a 5xx reply (an unknown mailbox, a policy refusal) is final. The
SMTP host is the operator's, not a user's, so it is not put through the webhook address policy; recipients and
the password are never logged (addresses are personal data)."""

import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
from opentelemetry.trace import StatusCode
from pydantic import SecretStr
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_notification.config import NotificationSettings
from reelscope_notification.results import DeliveryResult, FinalEvent, count
from reelscope_notification.summary import summarize

log = get_logger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; `tls_context` trusts the system CAs, or only `REELSCOPE_SMTP_CA_FILE`."""

    host: str
    port: int
    sender: str
    starttls: bool
    tls_context: ssl.SSLContext
    timeout_s: float
    username: str | None = None
    password: SecretStr | None = None

    @classmethod
    def from_settings(cls, settings: NotificationSettings) -> "SmtpConfig | None":
        """None when no SMTP host is configured (email is off)."""
        if settings.smtp_host is None or settings.smtp_from is None:
            return None
        cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            tls_context=ssl.create_default_context(cafile=cafile),
            timeout_s=settings.smtp_timeout_s,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )


def recipients(email_to: str) -> list[str]:
    """The comma-separated addresses of `email_to`, blanks dropped."""
    return [address.strip() for address in email_to.split(",") if address.strip()]


def compose(config: SmtpConfig, event: FinalEvent, to: list[str]) -> EmailMessage:
    """A plain-text message: the subject says job and outcome, the body says why (or what was said)."""
    summary = summarize(event)
    message = EmailMessage()
    message["Subject"] = summary.title
    message["From"] = config.sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="reelscope")
    message.set_content("\n".join([*summary.lines, "", f"Job id: {event.job_id}"]) + "\n")
    return message


def _classify(exc: aiosmtplib.SMTPException) -> DeliveryResult:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        transient = any(400 <= code < 500 for code in codes)
        shown = ", ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return DeliveryResult(
            False, "error" if transient else "rejected", f"SMTP refused the recipient: {shown}", transient
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        return DeliveryResult(
            False, "error" if transient else "rejected", f"SMTP answered {exc.code} {exc.message}", transient
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPTimeoutError | aiosmtplib.SMTPServerDisconnected):
        return DeliveryResult(False, "error", f"SMTP server unreachable: {type(exc).__name__}: {exc}", True)
    # e.g. the server offers no STARTTLS while it is required: sending would leak the mail, so it is refused.
    return DeliveryResult(False, "refused", f"SMTP: {exc}")


async def send_email(config: SmtpConfig, telemetry: Telemetry, event: FinalEvent, email_to: str) -> DeliveryResult:
    """Send the message once and say what happened; `transient` results are worth retrying."""
    to = recipients(email_to)
    with telemetry.tracer.start_as_current_span("email.send") as span:
        started = time.perf_counter()
        span.set_attribute("server.address", config.host)
        span.set_attribute("server.port", config.port)
        if not to:
            result = DeliveryResult(False, "rejected", "no email recipient given")
        else:
            try:
                await aiosmtplib.send(
                    compose(config, event, to),
                    hostname=config.host,
                    port=config.port,
                    start_tls=config.starttls,
                    tls_context=config.tls_context,
                    username=config.username,
                    password=config.password.get_secret_value() if config.password else None,
                    timeout=config.timeout_s,
                )
            except aiosmtplib.SMTPException as exc:
                result = _classify(exc)
            except OSError as exc:  # refused connection, TLS handshake failure
                result = DeliveryResult(False, "error", f"SMTP server unreachable: {type(exc).__name__}: {exc}", True)
            else:
                result = DeliveryResult(True, "delivered", f"SMTP accepted the message for {len(to)} recipient(s)")
        span.set_attribute(attributes.NOTIFICATION_OUTCOME, result.outcome)
        if not result.delivered:
            span.set_status(StatusCode.ERROR, result.detail)
    count(telemetry, "email", result.outcome)
    log.info("email delivery", outcome=result.outcome, detail=result.detail, seconds=time.perf_counter() - started)
    return result
