"""The pinned client dials the address that was checked, never a fresh lookup; Host header keeps the name."""

import ipaddress
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from reelscope_outbound import AddressRefused, IPAddress, PinnedBackend, UrlPolicy, pinned_client

from .recording import RecordingBackend

pytestmark = pytest.mark.unit


class RebindingResolver:
    """Answers a public address first and 127.0.0.1 on every later lookup (a DNS-rebinding attacker)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.calls += 1
        return [ipaddress.ip_address("93.184.215.14" if self.calls == 1 else "127.0.0.1")]


async def test_the_connection_goes_to_the_checked_address() -> None:
    """The transport dials the IP the check approved (one lookup), so a rebinding to 127.0.0.1 is never reached."""
    resolver = RebindingResolver()
    recorder = RecordingBackend()
    policy = UrlPolicy(resolver=resolver)
    async with pinned_client(policy, timeout=5, backend=PinnedBackend(policy, recorder)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("https://hooks.example/hook", content=b"{}")
    assert recorder.dialled == [("93.184.215.14", 443)]
    assert resolver.calls == 1


async def test_a_refused_address_is_never_dialled() -> None:
    """A host resolving to loopback raises AddressRefused from the client; the backend is never asked to dial."""
    recorder = RecordingBackend()
    policy = UrlPolicy(resolver=lambda host, port: _answer("127.0.0.1"))
    async with pinned_client(policy, timeout=5, backend=PinnedBackend(policy, recorder)) as client:
        with pytest.raises(AddressRefused, match=r"127\.0\.0\.1, a loopback address"):
            await client.post("http://hooks.example/hook", content=b"{}")
    assert recorder.dialled == []


async def _answer(address: str) -> Sequence[IPAddress]:
    return [ipaddress.ip_address(address)]


@pytest.fixture
def echo_server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A real HTTP server on 127.0.0.1 recording each request's headers; answers 204."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


async def test_a_real_request_reaches_the_pinned_address_with_the_original_host(
    echo_server: tuple[int, list[dict[str, str]]],
) -> None:
    """With 127.0.0.0/8 allowlisted, a name the stub resolves to 127.0.0.1 is reached there, Host unchanged."""
    port, seen = echo_server
    policy = UrlPolicy(
        allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), resolver=lambda host, port: _answer("127.0.0.1")
    )
    async with pinned_client(policy, timeout=5) as client:
        response = await client.post(f"http://hooks.example:{port}/hook", content=b"{}")
    assert response.status_code == 204
    assert seen[0]["Host"] == f"hooks.example:{port}"


async def test_proxy_variables_cannot_take_over_the_dialling(
    echo_server: tuple[int, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY in the environment is ignored: a proxy would connect to the target unchecked."""
    port, seen = echo_server
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.255.255.1:3128")
    policy = UrlPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    async with pinned_client(policy, timeout=5) as client:
        response = await client.post(f"http://127.0.0.1:{port}/hook", content=b"{}")
    assert response.status_code == 204
    assert len(seen) == 1
