"""Fixtures of the notification tests: in-memory telemetry, a real local webhook receiver, and signing secrets."""

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry


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
