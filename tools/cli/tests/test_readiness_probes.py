"""The stack's readiness probes must not be fooled by a port nobody listens on yet. Inside the kernel's
ephemeral port range a probe can connect to itself and read back its own request; the fault suite once failed
on exactly that (`BadStatusLine('GET /readyz HTTP/1.1')`)."""

import socket
import threading
from collections.abc import Iterator

import pytest
from reelscope_cli.stack.processes import http_ok, is_self_connection

pytestmark = pytest.mark.unit


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A listener that answers every connection with the request it received, as a self-connection does."""
    server = socket.create_server(("127.0.0.1", 0))
    port: int = server.getsockname()[1]

    def serve() -> None:
        with server:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                with connection:
                    connection.sendall(connection.recv(4096))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    server.close()
    thread.join(timeout=5)


def test_an_answer_that_is_not_http_means_not_ready(echo_port: int) -> None:
    assert http_ok(f"http://127.0.0.1:{echo_port}/readyz")() is False


def test_a_socket_connected_to_itself_is_recognised() -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.connect(sock.getsockname())  # TCP simultaneous open with itself
        assert is_self_connection(sock)


def test_a_connection_to_a_listener_is_not_a_self_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as sock:
        assert not is_self_connection(sock)
