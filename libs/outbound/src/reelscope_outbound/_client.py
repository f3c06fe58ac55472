"""An httpx client that dials only addresses the policy checked, at the moment it connects.

The check lives in the connection itself (an httpcore network backend): the host is resolved, every address is
checked, and the TCP connection goes to a checked address, so there is no window in which DNS could rebind the
name to an internal address. httpcore still knows the original host, so the Host header and TLS SNI (and
certificate verification) use the name from the URL."""

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from reelscope_outbound._policy import OutboundRefused, UrlPolicy

SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host on every new connection, then connects to a checked IP address."""

    def __init__(self, policy: UrlPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface passes it
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first reachable checked address of `host` (AddressRefused if any is refused)."""
        addresses = await self._policy.resolve(host.strip("[]"), port)
        options = list(socket_options) if socket_options is not None else None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface passes it
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: outbound calls go to checked IP addresses only."""
        raise OutboundRefused("outbound requests never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context)
        # httpx has no public parameter for the network backend: replace the pool it built with the same one
        # built on ours (tests/test_pinning.py proves the dial goes through it).
        self._pool = httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=backend)


def pinned_client(
    policy: UrlPolicy,
    *,
    timeout: float,
    backend: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient whose every connection is checked and pinned; it never follows redirects and ignores
    proxy environment variables (a proxy would do the dialling, unchecked)."""
    transport = _PinnedTransport(backend or PinnedBackend(policy), ssl_context or httpx.create_ssl_context())
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
