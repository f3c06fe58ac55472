"""Progress throttling and job cancellation against a real RabbitMQ."""

import asyncio

import aio_pika
import pytest
from reelscope_contracts import (
    JobCancelled,
    JobSubmitted,
    QueueSpec,
    RoutingKey,
    StageName,
    StageProgress,
    StageStarted,
)
from reelscope_messaging import Broker, CancellationWatch, Consumer, FailurePolicy, ProgressReporter, WorkerContext
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration


async def _drain(queue: aio_pika.abc.AbstractQueue) -> list[aio_pika.abc.AbstractIncomingMessage]:
    messages = []
    while (message := await queue.get(fail=False, timeout=2)) is not None:
        await message.ack()
        messages.append(message)
    return messages


async def test_progress_is_throttled_untraced_and_transient(broker: Broker, telemetry: CapturedTelemetry) -> None:
    """A hundred updates within one interval publish one event; it carries no trace context and is not persisted."""
    queue = await broker.declare_queue(QueueSpec("reelscope.test.progress", (RoutingKey.PROGRESS,)))
    await queue.purge()
    reporter = ProgressReporter(broker, "jobp", StageName.TRANSCODE, interval_s=60)
    for step in range(100):
        reporter.update(step / 100)
    await reporter.aclose()
    messages = await _drain(queue)
    assert len(messages) == 1
    event = StageProgress.model_validate_json(messages[0].body)
    assert event.stage is StageName.TRANSCODE
    assert event.percent == 0.0
    assert "traceparent" not in (messages[0].headers or {})
    assert messages[0].delivery_mode == aio_pika.DeliveryMode.NOT_PERSISTENT
    assert not [s for s in telemetry.spans() if s.name.startswith("publish")]
    await queue.delete(if_unused=False, if_empty=False)


async def test_progress_eta_extrapolates_the_pace_so_far() -> None:
    """At 25 % after 10 s, the ETA is 30 s; before there is a basis it is unknown."""
    now = [100.0]
    reporter = ProgressReporter(None, "jobe", StageName.TRANSCODE, clock=lambda: now[0])  # type: ignore[arg-type]
    assert reporter.eta_seconds() is None
    reporter.fraction = 0.25
    now[0] = 110.0
    assert reporter.eta_seconds() == pytest.approx(30.0)


async def test_cancel_stops_the_running_handler_and_acks(broker: Broker, telemetry: CapturedTelemetry) -> None:
    """A job.cancelled for the job being handled cancels the handler's task; nothing fails, the message is acked."""
    work = QueueSpec("reelscope.test.cancel", (RoutingKey.SUBMITTED,))
    started = asyncio.Event()
    stopped = asyncio.Event()

    async def handler(_: object) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.set()
            raise

    watch = CancellationWatch()
    await watch.start(broker, telemetry.telemetry)
    consumer = Consumer(
        broker,
        telemetry.telemetry,
        work,
        handler,
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
        cancellation=watch,
    )
    await consumer.start()
    await broker.publish(
        JobSubmitted(job_id="jobc", input_key="jobs/jobc/in.mp4", original_filename="a", input_size_bytes=1)
    )
    await asyncio.wait_for(started.wait(), 10)
    await broker.publish(JobCancelled(job_id="jobc", stage=StageName.TRANSCODE))
    await asyncio.wait_for(stopped.wait(), 10)
    for _ in range(50):  # the consumer span ends just after the ack
        process_spans = [s for s in telemetry.spans() if s.name.startswith("process") and "test.cancel" in s.name]
        if process_spans:
            break
        await asyncio.sleep(0.1)
    # No job.failed from this consumer (a running stack's own transcode worker may fail "jobc" for lack of input).
    assert not [s for s in telemetry.spans() if s.name == "publish reelscope:job.failed"]
    queue = broker.queues[work.name]
    declared = await queue.declare()
    assert declared.message_count == 0  # acked, not requeued
    assert any(e.name == "reelscope.job.cancelled" for s in process_spans for e in s.events)
    assert all(s.status.is_ok for s in process_spans)
    await queue.delete(if_unused=False, if_empty=False)


async def test_stage_of_a_cancelled_job_is_skipped(broker: Broker, telemetry: CapturedTelemetry) -> None:
    """A message for a job marked cancelled (e.g. in storage) is acked without running the handler; a marker
    check that fails (storage down) does not strand the message: the stage runs."""
    work = QueueSpec("reelscope.test.skip", (RoutingKey.SUBMITTED,))
    handled: list[str] = []

    async def handler(event: JobSubmitted) -> None:  # type: ignore[misc]
        handled.append(event.job_id)

    async def marker_exists(job_id: str) -> bool:
        if job_id == "jobboom":
            raise OSError("storage unreachable")
        return job_id == "jobgone"

    consumer = Consumer(
        broker,
        telemetry.telemetry,
        work,
        handler,  # type: ignore[arg-type]
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
        cancellation=CancellationWatch(marker_exists),
    )
    await consumer.start()
    for job_id in ("jobgone", "jobhere", "jobboom"):
        await broker.publish(
            JobSubmitted(job_id=job_id, input_key=f"jobs/{job_id}/in.mp4", original_filename="a", input_size_bytes=1)
        )
    for _ in range(50):
        if len(handled) >= 2:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    assert handled == ["jobhere", "jobboom"]
    await broker.queues[work.name].delete(if_unused=False, if_empty=False)


async def test_stage_started_goes_out_while_the_stage_runs_and_is_settled_on_leaving(
    broker: Broker, telemetry: CapturedTelemetry
) -> None:
    """`WorkerContext.stage_started` publishes `job.stage.started` without holding the stage up, and has it
    confirmed before the block ends; when the stage raises, its own error comes out and the event still went."""
    ctx = WorkerContext(broker, telemetry.telemetry)
    async with private_queue(broker, "test.started", (RoutingKey.STAGE_STARTED,)) as queue:
        async with ctx.stage_started("job-ok", StageName.TRANSCODE):
            pass
        (ok,) = await collect_events(queue, "job-ok", until=(StageStarted,))
        assert isinstance(ok, StageStarted)
        assert ok.stage is StageName.TRANSCODE

        with pytest.raises(ValueError, match="the stage broke"):
            async with ctx.stage_started("job-broken", StageName.TRANSCRIPTION):
                raise ValueError("the stage broke")
        (broken,) = await collect_events(queue, "job-broken", until=(StageStarted,))
        assert isinstance(broken, StageStarted)
        assert broken.stage is StageName.TRANSCRIPTION
