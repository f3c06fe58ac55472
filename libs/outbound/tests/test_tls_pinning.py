"""Over HTTPS the pinned client dials the checked IP while TLS keeps the URL's name: the server sees that name
as SNI and the certificate is verified against it (a certificate for another name is refused)."""

import ipaddress
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from reelscope_outbound import IPAddress, UrlPolicy, pinned_client

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate"),
]

NAME = "hooks.example"


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (and its key), made with the openssl command."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str | None]]]:
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.example; records the SNI of each handshake."""
    cert, key = _certificate(tmp_path, NAME)
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def record_sni(sock: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, ctx: ssl.SSLContext) -> None:
        server_names.append(server_name)

    context.sni_callback = record_sni

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert, server_names
    server.shutdown()
    server.server_close()


async def _loopback(host: str, port: int) -> Sequence[IPAddress]:
    return [ipaddress.ip_address("127.0.0.1")]


LOCAL = UrlPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),), resolver=_loopback)


async def test_tls_uses_the_urls_name_while_dialling_the_checked_ip(
    tls_server: tuple[int, Path, list[str | None]],
) -> None:
    """The handshake to 127.0.0.1 sends SNI hooks.example and verifies the certificate for hooks.example."""
    port, cert, server_names = tls_server
    async with pinned_client(LOCAL, timeout=5, ssl_context=ssl.create_default_context(cafile=cert)) as client:
        response = await client.post(f"https://{NAME}:{port}/hook", content=b"{}")
    assert response.status_code == 204
    assert server_names == [NAME]


async def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    """Verification is against the URL's name: a server whose certificate names something else fails TLS."""
    other_cert, other_key = _certificate(tmp_path, "other.example")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(other_cert, other_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        trusting = ssl.create_default_context(cafile=other_cert)
        async with pinned_client(LOCAL, timeout=5, ssl_context=trusting) as client:
            with pytest.raises(httpx.ConnectError, match=r"certificate|hostname"):
                await client.post(f"https://{NAME}:{server.server_address[1]}/hook", content=b"{}")
    finally:
        server.shutdown()
        server.server_close()
