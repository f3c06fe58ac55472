"""The local stack's alert receiver: where Alertmanager's routes deliver on this machine. One process with a real
HTTP server (the generic webhook at `/alerts`, Slack's incoming webhook at `/slack`) and a real SMTP server (the
email route), appending every notification it gets to a JSON-lines file that `reelscope scenario` and the alert
tests read. It stands in for the incident tool, Slack and the mail relay a site has, and checks what a real one
would: the webhook's bearer token."""

import argparse
import email
import email.policy
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

MAX_BODY_BYTES = 1 << 20
CHANNELS = {"/alerts": "webhook", "/slack": "slack", "/jobs": "job-webhook"}
"""Alertmanager's generic webhook and Slack; `/jobs` is a customer's endpoint for job webhooks (scenarios send
their jobs' notifications there, so a recovered webhook target has somewhere real to deliver to)."""


@dataclass(frozen=True)
class Notification:
    """One delivery from Alertmanager, as received."""

    channel: str
    """`webhook`, `slack` or `email` (Alertmanager), or `job-webhook` (a job's own notification)."""
    received_at: float
    """Unix time."""
    body: dict[str, Any]
    """The JSON body (webhook, Slack), or `subject`, `from`, `to` and `text` (email)."""
    authorized: bool = True
    """Whether the webhook carried the configured bearer token (always true for the other channels)."""

    def mentions(self, alertname: str) -> bool:
        """Whether this notification is about `alertname` (in the webhook's labels, or a Slack/email title)."""
        if self.channel == "job-webhook":
            return False
        if self.channel == "webhook":
            return any(alert.get("labels", {}).get("alertname") == alertname for alert in self.body.get("alerts", []))
        return alertname in json.dumps(self.body)


class NotificationLog:
    """The JSON-lines file every notification is appended to (one writer lock for both servers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, notification: Notification) -> None:
        line = json.dumps(notification.__dict__, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def read_notifications(path: Path) -> list[Notification]:
    """Everything received so far (an empty list before the first delivery)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Notification(**json.loads(line)) for line in lines if line.strip()]


def _handler(log: NotificationLog, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(HTTPStatus.OK if self.path == "/healthz" else HTTPStatus.NOT_FOUND)

        def do_POST(self) -> None:
            channel = CHANNELS.get(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if channel is None or not 0 < length <= MAX_BODY_BYTES:
                self._answer(HTTPStatus.NOT_FOUND if channel is None else HTTPStatus.BAD_REQUEST)
                return
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                self._answer(HTTPStatus.BAD_REQUEST)
                return
            presented = self.headers.get("Authorization", "")
            authorized = channel != "webhook" or hmac.compare_digest(presented, f"Bearer {token}")
            log.append(Notification(channel, time.time(), body, authorized))
            self._answer(HTTPStatus.OK if authorized else HTTPStatus.UNAUTHORIZED)

        def _answer(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the notifications file is the record."""

    return Handler


class _EmailHandler:
    """aiosmtpd's handler protocol: record each message and accept it."""

    def __init__(self, log: NotificationLog) -> None:
        self.log = log

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's name
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        body = {"subject": str(message["Subject"]), "from": envelope.mail_from, "to": envelope.rcpt_tos, "text": text}
        self.log.append(Notification("email", time.time(), body))
        return "250 Message accepted for delivery"


def serve(http_port: int, smtp_port: int, out: Path, token: str) -> None:
    """Run both servers on 127.0.0.1 until killed."""
    log = NotificationLog(out)
    smtp = Controller(_EmailHandler(log), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        with ThreadingHTTPServer(("127.0.0.1", http_port), _handler(log, token)) as server:
            server.serve_forever()
    finally:
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="reelscope-alert-receiver", description=__doc__)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the JSON-lines file notifications are appended to")
    parser.add_argument("--token-file", type=Path, required=True, help="the webhook's expected bearer token")
    args = parser.parse_args()
    serve(args.http_port, args.smtp_port, args.out, args.token_file.read_text().strip())


if __name__ == "__main__":
    main()
