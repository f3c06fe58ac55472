"""Throttled progress events: a stage calls `update()` as often as it likes (every ffmpeg progress
line, every recognised chunk); at most one `job.progress` event per interval leaves the process, and
publishing never blocks or fails the stage (progress is a hint; losing one costs nothing)."""

import asyncio
import time
from collections.abc import Callable

from reelscope_contracts import StageName, StageProgress
from reelscope_telemetry import get_logger

from reelscope_messaging.broker import Broker
from reelscope_messaging.errors import PublishFailed

log = get_logger(__name__)

MIN_FRACTION_FOR_ETA = 0.02


class ProgressReporter:
    """Progress of one stage of one job."""

    def __init__(
        self,
        broker: Broker,
        job_id: str,
        stage: StageName,
        *,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._broker = broker
        self._job_id = job_id
        self._stage = stage
        self._interval_s = interval_s
        self._clock = clock
        self._started = clock()
        self._last_sent: float | None = None
        self._in_flight: asyncio.Task[None] | None = None
        self.fraction = 0.0

    def eta_seconds(self) -> float | None:
        """Remaining time if the rest goes as fast as what is done (None until there is a basis)."""
        if self.fraction < MIN_FRACTION_FOR_ETA:
            return None
        elapsed = self._clock() - self._started
        return max(0.0, elapsed * (1 - self.fraction) / self.fraction)

    def update(self, fraction: float) -> None:
        """Record progress in [0, 1]; publish if the interval has passed and no publish is in flight."""
        self.fraction = min(1.0, max(self.fraction, fraction))
        now = self._clock()
        if self._last_sent is not None and now - self._last_sent < self._interval_s:
            return
        if self._in_flight is not None and not self._in_flight.done():
            return
        self._last_sent = now
        event = StageProgress(
            job_id=self._job_id,
            stage=self._stage,
            percent=round(self.fraction * 100, 1),
            eta_seconds=self.eta_seconds(),
        )
        self._in_flight = asyncio.get_running_loop().create_task(self._publish(event))

    async def _publish(self, event: StageProgress) -> None:
        try:
            await self._broker.publish(event)
        except PublishFailed as exc:
            log.debug("progress event not published", error=str(exc))

    async def aclose(self) -> None:
        """Wait for a publish still in flight (so the stage's final event cannot overtake it)."""
        if self._in_flight is not None:
            await asyncio.gather(self._in_flight, return_exceptions=True)
