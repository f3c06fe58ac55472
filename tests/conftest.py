"""Webhook receivers for the end-to-end and fault tests: real local HTTP servers that record every delivery."""

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Answer = Callable[[dict[str, Any], int], int]
"""The status to answer, given a delivery's body and how many deliveries of the same job came before it."""


@dataclass
class WebhookReceiver:
    """What a receiver got: each delivery as {"headers": ..., "body": ..., "raw": <the exact bytes>}, in arrival
    order."""

    url: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def of_job(self, job_id: str) -> list[dict[str, Any]]:
        return [d for d in self.deliveries if d["body"]["job_id"] == job_id]


def _serve(answer: Answer) -> Iterator[WebhookReceiver]:
    lock = threading.Lock()
    receiver = WebhookReceiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw)
            with lock:
                earlier = len(receiver.of_job(body["job_id"]))
                receiver.deliveries.append({"headers": dict(self.headers), "body": body, "raw": raw})
            self.send_response(answer(body, earlier))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """Accepts every delivery (204)."""
    yield from _serve(lambda body, earlier: 204)


@pytest.fixture(scope="module")
def flaky_webhook_receiver() -> Iterator[WebhookReceiver]:
    """Answers 503 to the first two deliveries of each job, then 204."""
    yield from _serve(lambda body, earlier: 503 if earlier < 2 else 204)
