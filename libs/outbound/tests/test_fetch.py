"""`download` against real HTTP servers on loopback addresses: the body arrives whole or not at all, size and
time are bounded while reading, redirects are followed by hand and each target is checked again, and a URL (or
redirect) to a non-public address is refused before any connection."""

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from reelscope_outbound import (
    AddressRefused,
    Downloaded,
    DownloadFailed,
    OutboundRefused,
    OutboundSettings,
    UrlPolicy,
    download,
)

from .recording import RecordingBackend

pytestmark = pytest.mark.unit

BODY = bytes(range(256)) * 400  # 102,400 bytes
LIMIT = 64 * 1024
SLOW_CHUNKS = 100  # the slow route's bound: 100 x 0.1 s, well past any deadline used here


@dataclass
class Server:
    """A real HTTP server on one loopback address; counts the TCP connections it accepted."""

    host: str
    port: int
    connections: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "CountingServer"

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == "/video":
            self._answer(200, BODY, {"Content-Type": "video/mp4"})
        elif route == "/big":
            self._answer(200, BODY * 2)
        elif route == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):  # 10 x 16 KiB: past the limit, with no Content-Length to tell in advance
                if not self._chunk(bytes(16 * 1024)):
                    return
            self._chunk(b"")
        elif route == "/slow":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(SLOW_CHUNKS):  # a byte every 0.1 s: no single read waits long, the whole never ends
                if not self._chunk(b"x"):
                    return
                time.sleep(0.1)
        elif route.startswith("/hops/"):
            left = int(route.removeprefix("/hops/"))
            target = "/video" if left == 0 else f"/hops/{left - 1}"
            self._answer(302, b"", {"Location": target})
        elif route == "/to":
            self._answer(302, b"", {"Location": self.path.split("?", 1)[1]})
        else:
            self._answer(404, b"not here\n")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)

    def _chunk(self, data: bytes) -> bool:
        return self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (limit or deadline): stop
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        return


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    accepted: list[str]

    def get_request(self) -> tuple[socket.socket, Any]:
        request, address = super().get_request()
        self.accepted.append(str(address[0]))
        return request, address


@pytest.fixture
def serve() -> Iterator[Callable[[str], Server]]:
    """Start real servers on given loopback addresses (127.0.0.1, 127.0.0.2, …); all stopped afterwards."""
    running: list[CountingServer] = []

    def start(host: str) -> Server:
        server = CountingServer((host, 0), Handler)
        server.accepted = []
        running.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return Server(host, server.server_address[1], server.accepted)

    yield start
    for server in running:
        server.shutdown()
        server.server_close()


def _allowing(*networks: str) -> UrlPolicy:
    return UrlPolicy(allowed_networks=tuple(ipaddress.ip_network(n) for n in networks), subject="source_url")


async def test_a_good_download_lands_whole(serve: Callable[[str], Server], tmp_path: Path) -> None:
    """The body is written to the destination byte for byte; the result says its size, URL and type."""
    server = serve("127.0.0.1")
    destination = tmp_path / "upload"
    result = await download(
        server.url("/video"), _allowing("127.0.0.1/32"), destination, max_bytes=LIMIT * 2, timeout_s=10
    )
    assert result == Downloaded(destination, len(BODY), server.url("/video"), "video/mp4", 0)
    assert destination.read_bytes() == BODY
    assert list(tmp_path.iterdir()) == [destination]  # no temporary file left beside it


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("/big", "source_url is 204,800 bytes; the limit is 65,536"),
        ("/chunked", "source_url is larger than the limit of 65,536 bytes (stopped reading there)"),
    ],
)
async def test_a_body_over_the_limit_is_refused_and_nothing_is_left(
    serve: Callable[[str], Server], tmp_path: Path, route: str, reason: str
) -> None:
    """A declared Content-Length over max_bytes is refused before reading; a chunked body with no length is cut
    as soon as it passes the limit. Either way no file is left and the failure is final (not transient)."""
    server = serve("127.0.0.1")
    with pytest.raises(DownloadFailed) as failed:
        await download(server.url(route), _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=10)
    assert (failed.value.reason, failed.value.transient) == (reason, False)
    assert list(tmp_path.iterdir()) == []


async def test_the_deadline_covers_the_whole_download(serve: Callable[[str], Server], tmp_path: Path) -> None:
    """A server trickling a byte every 0.1 s never trips a per-read timeout, but the 1 s overall deadline ends
    the download (transient), with no partial file."""
    server = serve("127.0.0.1")
    started = time.monotonic()
    with pytest.raises(DownloadFailed) as failed:
        await download(server.url("/slow"), _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=1)
    assert 0.9 < time.monotonic() - started < 3
    assert (failed.value.reason, failed.value.transient) == ("source_url did not finish downloading within 1 s", True)
    assert list(tmp_path.iterdir()) == []


async def test_a_404_is_a_final_failure(serve: Callable[[str], Server], tmp_path: Path) -> None:
    """A non-2xx answer names the status; a 404 will not get better with a retry."""
    server = serve("127.0.0.1")
    with pytest.raises(DownloadFailed) as failed:
        await download(server.url("/gone"), _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=5)
    assert (failed.value.reason, failed.value.transient) == ("source_url answered HTTP 404 Not Found", False)
    assert list(tmp_path.iterdir()) == []


async def test_a_redirect_chain_within_the_limit_is_followed(serve: Callable[[str], Server], tmp_path: Path) -> None:
    """Three redirects with max_redirects=3 arrive at the body; the result counts them and names the last URL."""
    server = serve("127.0.0.1")
    result = await download(
        server.url("/hops/2"), _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT * 2, timeout_s=10
    )
    assert (result.redirects, result.url, result.size_bytes) == (3, server.url("/video"), len(BODY))


async def test_too_many_redirects_are_refused(serve: Callable[[str], Server], tmp_path: Path) -> None:
    """Four redirects with max_redirects=3: refused, final, nothing left."""
    server = serve("127.0.0.1")
    with pytest.raises(DownloadFailed) as failed:
        await download(server.url("/hops/3"), _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=5)
    assert (failed.value.reason, failed.value.transient) == ("source_url redirects more than 3 times", False)
    assert len(server.connections) >= 1
    assert list(tmp_path.iterdir()) == []


REFUSED = [
    ("http://127.0.0.1:{port}/video", "127.0.0.1, a loopback address"),
    ("http://[::1]:{port}/video", "::1, a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address (the cloud metadata service)"),
    ("http://10.0.0.1/video", "10.0.0.1, a private address"),
    ("http://172.16.0.1/video", "172.16.0.1, a private address"),
    ("http://192.168.0.1/video", "192.168.0.1, a private address"),
    ("http://0.0.0.0:{port}/video", "0.0.0.0, an unspecified address"),
    ("http://localhost:{port}/video", ", a loopback address"),
]


@pytest.mark.parametrize(("url", "expected"), REFUSED)
async def test_non_public_sources_are_refused_without_connecting(
    serve: Callable[[str], Server], tmp_path: Path, url: str, expected: str
) -> None:
    """With no allowlist, each non-public target (literal or `localhost` through the real resolver) is refused
    naming the address; the network layer is never asked to dial, and the real server on 127.0.0.1 (where the
    loopback URLs point) accepts no connection."""
    server = serve("127.0.0.1")
    recorder = RecordingBackend()
    with pytest.raises(AddressRefused) as refused:
        await download(
            url.format(port=server.port), UrlPolicy(subject="source_url"), tmp_path / "u",
            max_bytes=LIMIT, timeout_s=5, backend=recorder,
        )  # fmt: skip
    assert refused.value.reason.startswith("source_url resolves to ")
    assert expected in refused.value.reason
    assert recorder.dialled == []
    assert server.connections == []
    assert list(tmp_path.iterdir()) == []


async def test_a_redirect_to_loopback_is_refused(serve: Callable[[str], Server], tmp_path: Path) -> None:
    """An allowed server (127.0.0.2, the only allowlisted address) redirecting to 127.0.0.1 is refused at the
    redirect: the 127.0.0.1 server is never connected to."""
    allowed, internal = serve("127.0.0.2"), serve("127.0.0.1")
    url = allowed.url(f"/to?http://127.0.0.1:{internal.port}/video")
    with pytest.raises(AddressRefused, match=r"source_url resolves to 127\.0\.0\.1, a loopback address"):
        await download(url, _allowing("127.0.0.2/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=5)
    assert len(allowed.connections) == 1
    assert internal.connections == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://93.184.215.14/video.mp4"])
async def test_a_redirect_off_http_is_refused(serve: Callable[[str], Server], tmp_path: Path, target: str) -> None:
    """A redirect to another scheme is refused (http and https only)."""
    server = serve("127.0.0.1")
    with pytest.raises(OutboundRefused, match=r"source_url must be an absolute http\(s\) URL"):
        await download(
            server.url(f"/to?{target}"), _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=5
        )


async def test_a_closed_port_is_a_transient_failure(tmp_path: Path) -> None:
    """Nothing listening: a transient failure naming the URL's subject (the source may come back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadFailed) as failed:
        await download(
            f"http://127.0.0.1:{port}/video", _allowing("127.0.0.1/32"), tmp_path / "u", max_bytes=LIMIT, timeout_s=5
        )
    assert failed.value.transient
    assert failed.value.reason.startswith("source_url could not be fetched: ")


def test_the_source_allowlist_is_its_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """REELSCOPE_SOURCE_ALLOWED_NETWORKS feeds the source policy only; the webhook allowlist does not widen it."""
    monkeypatch.setenv("REELSCOPE_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    monkeypatch.setenv("REELSCOPE_SOURCE_ALLOWED_NETWORKS", '["192.0.2.0/24"]')
    policy = UrlPolicy.for_sources(OutboundSettings())
    assert (policy.allowed_networks, policy.subject) == ((ipaddress.ip_network("192.0.2.0/24"),), "source_url")
    with pytest.raises(AddressRefused, match=r"source_url resolves to 127\.0\.0\.1"):
        policy.check_address(ipaddress.ip_address("127.0.0.1"))
