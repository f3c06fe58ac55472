"""A network backend for the outbound tests: it records where the client is asked to dial and connects nowhere,
so a test can prove a refused address was never dialled."""

from collections.abc import Iterable
from typing import Any

import httpcore


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records where it is asked to dial, and connects nowhere."""

    def __init__(self) -> None:
        self.dialled: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.dialled.append((host, port))
        raise httpcore.ConnectError("recording backend: not connecting")
