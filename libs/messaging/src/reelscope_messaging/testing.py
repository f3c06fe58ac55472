"""Test seams for code that publishes to RabbitMQ: a private queue that sees what was published (a running
stack's consumers keep their own copies), and a reader that picks one job's events out of it in order."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractQueue
from reelscope_contracts import JobEvent, JobSubmitted, QueueSpec, RoutingKey
from reelscope_contracts.messages import JOB_EVENT_ADAPTER

from reelscope_messaging.broker import Broker


@asynccontextmanager
async def private_queue(broker: Broker, prefix: str, bindings: tuple[RoutingKey, ...]) -> AsyncIterator[AbstractQueue]:
    """A uniquely named queue bound to `bindings`, deleted afterwards."""
    queue = await broker.declare_queue(QueueSpec(f"{prefix}.{uuid.uuid4().hex[:8]}", bindings))
    try:
        yield queue
    finally:
        await queue.delete(if_unused=False, if_empty=False)


async def collect_events(
    queue: AbstractQueue, job_id: str, until: tuple[type, ...], timeout_s: float = 30
) -> list[JobEvent]:
    """`job_id`'s events from `queue`, in order, up to and including the first of a type in `until`."""
    seen: list[JobEvent] = []
    for _ in range(int(timeout_s * 10)):
        message = await queue.get(fail=False)
        if message is None:
            await asyncio.sleep(0.1)
            continue
        await message.ack()
        event = JOB_EVENT_ADAPTER.validate_json(message.body)
        if event.job_id == job_id:
            seen.append(event)
            if isinstance(event, until):
                return seen
    raise AssertionError(f"no {until} for {job_id}; saw {seen}")


def submission(job_id: str) -> JobSubmitted:
    """A minimal valid `job.submitted` for `job_id` (its input need not exist: consumers under test are fakes)."""
    return JobSubmitted(job_id=job_id, input_key=f"jobs/{job_id}/in.mp4", original_filename="a.mp4", input_size_bytes=1)


async def eventually(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Wait until `condition()` holds, polling every 50 ms; fail the test after `timeout_s`."""
    for _ in range(int(timeout_s * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


BUSY_FRAME = "spin_for_the_profile"
"""The function `busy_loop` keeps on the CPU: the frame a profile taken meanwhile must show."""


def spin_for_the_profile() -> None:
    """Burn 5 ms of CPU."""
    deadline = time.perf_counter() + 0.005
    while time.perf_counter() < deadline:
        pass


@asynccontextmanager
async def busy_loop() -> AsyncIterator[None]:
    """A task on this event loop spinning the CPU in `spin_for_the_profile` until the block ends (the profiling
    endpoint's tests look for it in the profile)."""
    stop = asyncio.Event()

    async def burn() -> None:
        while not stop.is_set():
            spin_for_the_profile()
            await asyncio.sleep(0)

    task = asyncio.create_task(burn())
    try:
        yield
    finally:
        stop.set()
        await task
