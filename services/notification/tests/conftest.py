"""Fixtures of the notification tests: in-memory telemetry, real local webhook/Slack receivers, and a real SMTP
server speaking STARTTLS with a certificate from a throwaway CA."""

import dataclasses
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from reelscope_notification.config import NotificationSettings
from reelscope_notification.email import SmtpConfig
from reelscope_notification.ledger import ChannelLedger
from reelscope_notification.notify import Notifier
from reelscope_outbound import UrlPolicy, pinned_client
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry

MASTER_SECRET = "master-secret-0123456789abcdef0123456789"
LOCAL_NETWORKS = ["127.0.0.0/8"]


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1; `requests` holds each request's headers and raw body."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


Answer = Callable[[str], tuple[int, dict[str, str]]]


def _serve(answer: Answer) -> Iterator[Receiver]:
    receiver = Receiver(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, headers = answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Answers 204 to every delivery."""
    yield from _serve(lambda path: (204, {}))


@pytest.fixture
def redirecting_receiver() -> Iterator[Receiver]:
    """Answers 302 to /hook, pointing at loopback (127.0.0.1, its own /internal path)."""
    yield from _serve(lambda path: (302, {"Location": "http://127.0.0.1:1/internal"}) if path == "/hook" else (204, {}))


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    """In-memory telemetry for one test."""
    with capture_telemetry("notification-test") as captured:
        yield captured


@pytest.fixture
def scripted_receiver() -> Iterator[Callable[[list[int]], Receiver]]:
    """A factory: a receiver answering the given statuses in turn, then 200 (every server stopped afterwards)."""
    servers: list[Iterator[Receiver]] = []

    def make(statuses: list[int]) -> Receiver:
        script = list(statuses)
        served = _serve(lambda path: (script.pop(0) if script else 200, {}))
        servers.append(served)
        return next(served)

    yield make
    for served in servers:
        next(served, None)


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1 that requires STARTTLS; `messages` holds what it accepted, with whether
    the session was encrypted; `refuse_rcpt` (e.g. "550 ...") is the answer to every RCPT when set."""

    port: int
    ca_file: Path
    messages: list[tuple[EmailMessage, bool]] = field(default_factory=list)
    refuse_rcpt: str | None = None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd calls hooks by these names
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.server.refuse_rcpt is not None:
            return self.server.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.server.messages.append((parsed, session.ssl is not None))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A port nothing listens on right now (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """aiosmtpd with STARTTLS required, its certificate (for 127.0.0.1) issued by a trustme CA in `ca_file`."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = SmtpServer(free_port(), tmp_path / "smtp-ca.pem")
    ca.cert_pem.write_to_path(str(server.ca_file))
    controller = Controller(
        _Handler(server), hostname="127.0.0.1", port=server.port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield server
    controller.stop()


NotifierFactory = Callable[..., Notifier]


@pytest.fixture
async def make_notifier(
    tmp_path: Path, telemetry: CapturedTelemetry, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[NotifierFactory]:
    """A factory: a Notifier built as the worker builds it (pinned clients, storage ledger under `tmp_path`,
    SMTP config) from settings given as keyword arguments; loopback is allowlisted unless the caller says not."""
    for name in ("SLACK_WEBHOOK_URL", "EMAIL_TO", "SMTP_HOST", "WEBHOOK_ALLOWED_NETWORKS", "WEBHOOK_SIGNING_SECRETS"):
        monkeypatch.delenv(f"REELSCOPE_{name}", raising=False)
    clients = []

    def make(**overrides: Any) -> Notifier:
        values: dict[str, Any] = {
            "webhook_signing_secrets": [MASTER_SECRET],
            "webhook_allowed_networks": LOCAL_NETWORKS,
            "storage_dir": tmp_path / "storage",
            "smtp_timeout_s": 5,
            "webhook_timeout_s": 5,
        }
        settings = NotificationSettings(**(values | overrides))
        policy = UrlPolicy.from_settings(settings)
        webhook_client = pinned_client(policy, timeout=settings.webhook_timeout_s)
        slack_client = pinned_client(dataclasses.replace(policy, subject="Slack URL"), timeout=5)
        clients.extend([webhook_client, slack_client])
        ledger = ChannelLedger(FilesystemStorage(settings.storage_dir))
        smtp = SmtpConfig.from_settings(settings)
        return Notifier(settings, telemetry.telemetry, webhook_client, slack_client, ledger, smtp)

    yield make
    for client in clients:
        await client.aclose()
