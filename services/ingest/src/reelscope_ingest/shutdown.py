"""Graceful shutdown of the ingest process. uvicorn's own signal handling re-raises SIGTERM after its
shutdown, which kills the process by the signal before telemetry is flushed; this server does not, so a
stop runs in order: readiness off (`/readyz` answers 503 "stopping"), no new connections, open requests get
`REELSCOPE_SHUTDOWN_GRACE_S`, the lifespan drains the event consumer, telemetry is flushed, exit 0."""

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

import uvicorn
from reelscope_telemetry import get_logger

log = get_logger(__name__)


@dataclass
class ShutdownState:
    """Whether (and since when) this process is stopping; one per app, set by the signal handler."""

    began_at: float | None = None

    @property
    def stopping(self) -> bool:
        return self.began_at is not None

    def begin(self) -> None:
        """Mark the start of shutdown (idempotent: the first signal's time counts)."""
        if self.began_at is None:
            self.began_at = time.monotonic()

    def remaining(self, grace_s: float) -> float:
        """What is left of a `grace_s` grace period counted from the signal (all of it if none came)."""
        if self.began_at is None:
            return grace_s
        return max(0.0, grace_s - (time.monotonic() - self.began_at))


class GracefulServer(uvicorn.Server):
    """uvicorn that marks `state` stopping the moment SIGTERM/SIGINT arrives and exits 0 after its shutdown."""

    def __init__(self, config: uvicorn.Config, state: ShutdownState) -> None:
        super().__init__(config)
        self._state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._state.begin()  # only a flag: logging from a signal handler could deadlock on a handler's lock
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
        # Unlike uvicorn's own, the captured signal is not raised again: a graceful stop is a clean exit.

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info(
            "ingest stopping: readiness off, finishing open requests",
            open_connections=len(self.server_state.connections),
            grace_s=self.config.timeout_graceful_shutdown,
        )
        await super().shutdown(sockets)
