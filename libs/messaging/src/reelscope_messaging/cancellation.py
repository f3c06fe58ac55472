"""Stop a job's work when its owner cancels it.

Ingest marks the job cancelled (in its database and with a marker object in storage) and publishes
`job.cancelled` once. Every worker process hears it on its own transient queue: if it is working on
that job, the handler's task is cancelled (media tools are killed, staged outputs discarded); either
way the id is remembered, and a stage about to start also checks the storage marker, so a job
cancelled while its message waited in a queue never starts its next stage."""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from reelscope_contracts import JobCancelled
from reelscope_contracts.messages import JOB_EVENT_ADAPTER
from reelscope_contracts.topology import CANCELLATIONS
from reelscope_telemetry import Telemetry, consumer_span, get_logger

from reelscope_messaging.broker import Broker

log = get_logger(__name__)

MarkerCheck = Callable[[str], Awaitable[bool]]


class CancellationWatch:
    """Remembers cancelled job ids (bounded) and cancels the running handler of a cancelled job."""

    def __init__(self, marker_exists: MarkerCheck | None = None, remember: int = 10_000) -> None:
        self._marker_exists = marker_exists
        self._remember = remember
        self._cancelled: OrderedDict[str, None] = OrderedDict()
        self._running: dict[str, asyncio.Task[None]] = {}

    async def start(self, broker: Broker, telemetry: Telemetry) -> None:
        """Bind this process's transient queue to `job.cancelled` and listen."""
        queue = await broker.declare_queue(CANCELLATIONS)

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process(ignore_processed=True):
                with consumer_span(
                    telemetry.tracer,
                    headers=message.headers,
                    exchange=message.exchange or "",
                    routing_key=message.routing_key or "",
                    queue="cancellations",
                    message_id=message.message_id,
                    body_size=len(message.body),
                    job_id=None,
                ) as span:
                    try:
                        event = JOB_EVENT_ADAPTER.validate_json(message.body)
                    except ValidationError:
                        log.warning("unreadable cancellation ignored")
                        return
                    if isinstance(event, JobCancelled):
                        stopped = self.cancel(event.job_id)
                        span.set_attribute("reelscope.job.id", event.job_id)
                        span.set_attribute("reelscope.cancel.stopped_running_work", stopped)

        await queue.consume(on_message)

    def cancel(self, job_id: str) -> bool:
        """Remember `job_id` as cancelled; cancel its handler if it runs here. True if work was stopped."""
        self._cancelled[job_id] = None
        self._cancelled.move_to_end(job_id)
        while len(self._cancelled) > self._remember:
            self._cancelled.popitem(last=False)
        task = self._running.get(job_id)
        if task is None or task.done():
            return False
        log.info("cancelling running work", job_id=job_id)
        task.cancel()
        return True

    def requested(self, job_id: str) -> bool:
        """Whether a cancellation for `job_id` was heard by this process."""
        return job_id in self._cancelled

    async def is_cancelled(self, job_id: str) -> bool:
        """Heard here, or marked in storage (a cancellation that arrived before this process started)."""
        if self.requested(job_id):
            return True
        return self._marker_exists is not None and await self._marker_exists(job_id)

    @contextmanager
    def running(self, job_id: str, task: asyncio.Task[None]) -> Iterator[None]:
        """Register the task handling `job_id` while the block runs."""
        self._running[job_id] = task
        try:
            yield
        finally:
            if self._running.get(job_id) is task:
                del self._running[job_id]
