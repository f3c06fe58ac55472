"""The messaging lib against a real RabbitMQ: topology, publisher confirms, redelivery, failure mapping."""

import asyncio
import json

import aio_pika
import pytest
from reelscope_contracts import JobFailed, JobSubmitted, QueueSpec, RoutingKey, StageName
from reelscope_messaging import PARKING_QUEUE, Broker, Consumer, FailurePolicy, StageFailed
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration


async def test_topology_is_durable_quorum_and_idempotent(broker: Broker) -> None:
    """Declaring twice is harmless; queues are durable quorum queues with a dead-letter exchange."""
    spec = QueueSpec("reelscope.test.topology", (RoutingKey.SUBMITTED,))
    first = await broker.declare_queue(spec)
    second = await broker.declare_queue(spec)
    assert first.name == second.name
    assert first.durable
    assert first.arguments is not None
    assert first.arguments["x-queue-type"] == "quorum"
    assert first.arguments["x-dead-letter-exchange"] == "reelscope.dead"
    await first.delete(if_unused=False, if_empty=False)


async def test_publish_is_confirmed_persistent_and_traced(broker: Broker, telemetry: CapturedTelemetry) -> None:
    """A publish returns after the broker's confirm; the message is persistent and carries traceparent."""
    spec = QueueSpec("reelscope.test.confirm", (RoutingKey.SUBMITTED,))
    queue = await broker.declare_queue(spec)
    await queue.purge()
    message_id = await broker.publish(
        JobSubmitted(job_id="job1", input_key="jobs/job1/in.mp4", original_filename="a", input_size_bytes=1)
    )
    received = await queue.get(timeout=5)
    await received.ack()
    assert received.message_id == message_id
    assert received.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert "traceparent" in received.headers
    (span,) = [s for s in telemetry.spans() if s.name.startswith("publish")]
    assert span.attributes["messaging.message.id"] == message_id
    await queue.delete(if_unused=False, if_empty=False)


async def test_unacked_message_is_redelivered(broker: Broker, rabbitmq_url: str) -> None:
    """A message taken but never acked (the worker died) comes back once its channel closes."""
    spec = QueueSpec("reelscope.test.redelivery", (RoutingKey.SUBMITTED,))
    queue = await broker.declare_queue(spec)
    await queue.purge()
    await broker.publish(
        JobSubmitted(job_id="job2", input_key="jobs/job2/in.mp4", original_filename="a", input_size_bytes=1)
    )
    connection = await aio_pika.connect(rabbitmq_url)
    channel = await connection.channel()
    taken = await (await channel.get_queue(spec.name)).get(timeout=5)
    assert not taken.redelivered
    await connection.close()  # dies without acking
    again = await queue.get(timeout=5)
    assert again.redelivered
    assert json.loads(again.body)["job_id"] == "job2"
    await again.ack()
    await queue.delete(if_unused=False, if_empty=False)


async def test_stage_failure_publishes_job_failed_with_reason(broker: Broker, telemetry: CapturedTelemetry) -> None:
    """A handler raising StageFailed makes the consume loop publish job.failed and ack the message."""
    work = QueueSpec("reelscope.test.stage", (RoutingKey.SUBMITTED,))
    # Our own queue for job.failed: a running stack's ingest may be consuming its events queue.
    events = await broker.declare_queue(QueueSpec("reelscope.test.failed", (RoutingKey.FAILED,)))
    await events.purge()

    async def handler(_: object) -> None:
        raise StageFailed("input is not a decodable video: test")

    consumer = Consumer(
        broker, telemetry.telemetry, work, handler, stage=StageName.TRANSCODE, policy=FailurePolicy.FAIL_JOB
    )
    await consumer.start()
    await broker.publish(
        JobSubmitted(job_id="job3", input_key="jobs/job3/x", original_filename="x", input_size_bytes=1)
    )
    # A running stack's transcode worker may fail the same job for its own reason: find ours.
    for _ in range(5):
        failed = await _get_eventually(events)
        event = JobFailed.model_validate_json(failed.body)
        if event.reason.endswith(": test"):
            break
        await failed.ack()
    assert event.job_id == "job3"
    assert event.stage is StageName.TRANSCODE
    assert event.reason == "input is not a decodable video: test"
    await failed.ack()
    # The consumer span ends just after the publish we read: give it a moment.
    for _ in range(50):
        error_spans = [s for s in telemetry.spans() if s.name.startswith("process") and not s.status.is_ok]
        if error_spans:
            break
        await asyncio.sleep(0.1)
    assert error_spans
    assert any(e.name == "exception" for e in error_spans[0].events)
    await broker.queues[work.name].delete(if_unused=False, if_empty=False)
    await events.delete(if_unused=False, if_empty=False)


async def test_malformed_message_without_job_id_is_parked_not_dropped(
    broker: Broker, telemetry: CapturedTelemetry
) -> None:
    """A body that is not a message and names no job goes to the parking queue."""
    work = QueueSpec("reelscope.test.malformed", (RoutingKey.SUBMITTED,))
    assert broker.channel is not None
    parked = await broker.channel.get_queue(PARKING_QUEUE)
    await parked.purge()

    async def handler(_: object) -> None:
        raise AssertionError("must not be called")

    consumer = Consumer(
        broker, telemetry.telemetry, work, handler, stage=StageName.TRANSCODE, policy=FailurePolicy.FAIL_JOB
    )
    await consumer.start()
    assert broker.exchange is not None
    await broker.exchange.publish(aio_pika.Message(b"not json at all"), routing_key=RoutingKey.SUBMITTED.value)
    dead = await _get_eventually(parked)
    assert dead.body == b"not json at all"
    await dead.ack()
    await broker.queues[work.name].delete(if_unused=False, if_empty=False)


async def _get_eventually(
    queue: aio_pika.abc.AbstractQueue, timeout_s: float = 10
) -> aio_pika.abc.AbstractIncomingMessage:
    for _ in range(int(timeout_s * 10)):
        message = await queue.get(fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing arrived on {queue.name}")
