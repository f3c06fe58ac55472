"""At-least-once without doing things twice, and bad messages parked, not lost (real RabbitMQ)."""

import asyncio
import json
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from reelscope_cli.client import RabbitMQManagementClient
from reelscope_cli.stack.settings import StackSettings
from reelscope_contracts import JobEvent, JobFailed, JobKeys, QueueSpec, RoutingKey, StageName
from reelscope_messaging import (
    PARKING_QUEUE,
    Broker,
    BrokerSettings,
    Consumer,
    FailurePolicy,
    PublishFailed,
    StorageLedger,
)
from reelscope_messaging.headers import CATEGORY_HEADER, REASON_HEADER
from reelscope_messaging.testing import collect_events, eventually, private_queue, submission
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration


async def _parked(broker: Broker, message_id: str, timeout_s: float = 10) -> aio_pika.abc.AbstractIncomingMessage:
    """The parked copy of `message_id` (other tests park messages too: theirs are left alone)."""
    assert broker.channel is not None
    parked = await broker.channel.get_queue(PARKING_QUEUE)
    for _ in range(int(timeout_s * 10)):
        message = await parked.get(fail=False)
        if message is None:
            await asyncio.sleep(0.1)
        elif message.message_id == message_id:
            await message.ack()
            return message
        else:
            await message.nack(requeue=True)
    raise AssertionError(f"{message_id} was not parked")


async def test_a_duplicate_delivery_of_a_finished_stage_is_acked_not_redone(
    broker: Broker, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    """The same job's message delivered twice runs the stage once: the second is acked and counted as a skipped
    duplicate, because the first left a record under the job id + stage."""
    ledger = StorageLedger(FilesystemStorage(tmp_path))
    spec = QueueSpec(f"reelscope.test.dedupe.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    runs: list[str] = []

    async def handler(event: JobEvent) -> None:
        runs.append(event.job_id)

    consumer = Consumer(
        broker,
        telemetry.telemetry,
        spec,
        handler,
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
        ledger=ledger,
    )
    await consumer.start()
    job_id = f"dup{uuid.uuid4().hex[:8]}"
    await broker.publish(submission(job_id))
    await eventually(lambda: runs == [job_id])
    await broker.publish(submission(job_id))
    await eventually(
        lambda: sum(p.value for p in telemetry.metric_points("reelscope.messages.duplicates_skipped")) == 1
    )
    assert runs == [job_id]
    assert (tmp_path / JobKeys(job_id).stage_done("transcode")).is_file()
    queue = broker.queues[spec.name]
    assert await queue.get(fail=False) is None  # acked, not left behind
    await queue.delete(if_unused=False, if_empty=False)


async def test_a_redelivered_message_is_counted_and_marked_on_its_span(
    broker: Broker, rabbitmq_url: str, telemetry: CapturedTelemetry
) -> None:
    """A message a dead worker never acked comes back with the broker's redelivered flag: the consumer counts it
    (reelscope.messages.redelivered by queue) and marks its span, then processes it normally."""
    spec = QueueSpec(f"reelscope.test.redelivered.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    await broker.declare_queue(spec)
    job_id = f"redeliv{uuid.uuid4().hex[:8]}"
    await broker.publish(submission(job_id))
    dying = await aio_pika.connect(rabbitmq_url)
    taken = await (await (await dying.channel()).get_queue(spec.name)).get(timeout=5)
    assert not taken.redelivered
    await dying.close()  # the worker died holding it
    handled: list[str] = []

    async def handler(event: JobEvent) -> None:
        handled.append(event.job_id)

    consumer = Consumer(
        broker,
        telemetry.telemetry,
        spec,
        handler,
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
    )
    await consumer.start()
    await eventually(lambda: handled == [job_id])
    points = telemetry.metric_points("reelscope.messages.redelivered")
    assert [(p.value, dict(p.attributes)) for p in points] == [(1, {"reelscope.queue": spec.name})]
    await eventually(lambda: any((s.attributes or {}).get("reelscope.message.redelivered") for s in telemetry.spans()))
    await broker.queues[spec.name].delete(if_unused=False, if_empty=False)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"kind": "job.submitted", "input_key": "k"},
            "malformed job.submitted message: job.submitted.original_filename: Field required",
        ),
        (
            {
                "kind": "job.submitted",
                "schema_version": 2,
                "input_key": "k",
                "original_filename": "a",
                "input_size_bytes": 1,
            },
            "unsupported schema_version 2 in job.submitted message (reads 1)",
        ),
    ],
    ids=["missing-field", "unknown-version"],
)
async def test_a_malformed_or_unknown_version_message_is_parked_counted_and_fails_itssubmission(
    broker: Broker, telemetry: CapturedTelemetry, body: dict[str, object], reason: str
) -> None:
    """A body that breaks the contract is parked with the reason (log line, dead-letter metric), its job fails
    with the same reason, and the consumer goes on to the next message."""
    spec = QueueSpec(f"reelscope.test.poison.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    handled: list[str] = []

    async def handler(event: JobEvent) -> None:
        handled.append(event.job_id)

    async with private_queue(broker, "reelscope.test.poison.failed", (RoutingKey.FAILED,)) as failures:
        consumer = Consumer(
            broker,
            telemetry.telemetry,
            spec,
            handler,
            stage=StageName.TRANSCODE,
            policy=FailurePolicy.FAIL_JOB,
        )
        await consumer.start()
        poison, healthy = f"poison{uuid.uuid4().hex[:8]}", f"healthy{uuid.uuid4().hex[:8]}"
        message_id = uuid.uuid4().hex
        assert broker.exchange is not None
        poisoned = aio_pika.Message(json.dumps(body | {"job_id": poison}).encode(), message_id=message_id)
        await broker.exchange.publish(poisoned, routing_key=RoutingKey.SUBMITTED.value)
        await broker.publish(submission(healthy))
        parked = await _parked(broker, message_id)
        assert parked.headers[REASON_HEADER] == reason
        assert parked.headers[CATEGORY_HEADER] == "malformed_message"
        (failed,) = await collect_events(failures, poison, until=(JobFailed,))
        assert isinstance(failed, JobFailed)
        assert failed.reason == reason
        await eventually(lambda: handled == [healthy])
    dead = telemetry.metric_points("reelscope.messages.dead_lettered")
    assert [(p.value, dict(p.attributes)) for p in dead] == [
        (1, {"reelscope.queue": spec.name, "reelscope.failure.category": "malformed_message"})
    ]
    assert any(line.get("event") == "message parked" for line in telemetry.stdout_lines())
    await broker.queues[spec.name].delete(if_unused=False, if_empty=False)


async def test_a_publish_nobody_can_receive_fails_instead_of_vanishing(broker: Broker) -> None:
    """Mandatory routing with publisher confirms: a message no queue takes raises PublishFailed, so the caller
    never believes an event was recorded when it was not."""
    with pytest.raises(PublishFailed, match="not confirmed"):
        await broker.publish_to_queue(f"reelscope.test.nowhere.{uuid.uuid4().hex[:8]}", b"{}", {}, None)


async def test_publish_confirm_latency_is_measured_with_semantic_convention_attributes(
    broker: Broker, telemetry: CapturedTelemetry
) -> None:
    """Every confirmed publish records messaging.client.operation.duration (publish to confirm), labelled by
    system, operation and destination only; a failed one adds error.type."""
    async with private_queue(broker, "reelscope.test.confirm.latency", (RoutingKey.SUBMITTED,)):
        await broker.publish(submission(f"lat{uuid.uuid4().hex[:8]}"))
    with pytest.raises(PublishFailed):
        await broker.publish_to_queue("reelscope.test.nowhere", b"{}", {}, None)
    points = {
        dict(p.attributes).get("error.type", "ok"): p
        for p in telemetry.metric_points("messaging.client.operation.duration")
    }
    ok = dict(points["ok"].attributes)
    assert ok == {
        "messaging.system": "rabbitmq",
        "messaging.operation.name": "publish",
        "messaging.operation.type": "send",
        "messaging.destination.name": "reelscope",
    }
    assert points["ok"].count >= 1
    assert 0 < points["ok"].sum < 5
    assert set(points) == {"ok", "PublishError"}  # returned unroutable (mandatory)


async def test_after_a_lost_connection_consumers_are_restored_and_the_reconnect_counted(
    rabbitmq_url: str, stack_settings: StackSettings, telemetry: CapturedTelemetry
) -> None:
    """The broker closes our connection (as on a node restart): the robust connection comes back, re-opens the
    channel and re-registers the consumer; the reconnect is counted (reelscope.broker.reconnects) and messages
    published afterwards are still consumed."""
    name = f"reelscope-test-reconnect-{uuid.uuid4().hex[:8]}"
    broker = Broker(
        BrokerSettings(amqp_url=f"{rabbitmq_url}?name={name}", publish_timeout_s=5),
        telemetry.telemetry.tracer,
        telemetry.telemetry.instruments,
    )
    await broker.connect()
    spec = QueueSpec(f"reelscope.test.reconnect.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    handled: list[str] = []

    async def handler(event: JobEvent) -> None:
        handled.append(event.job_id)

    consumer = Consumer(
        broker, telemetry.telemetry, spec, handler, stage=StageName.TRANSCODE, policy=FailurePolicy.FAIL_JOB
    )
    await consumer.start()
    try:
        ours: list[dict[str, Any]] = []
        for _ in range(60):  # the management API lists a new connection after its next stats tick
            connections = await _management(stack_settings, "GET", "/connections")
            ours = [c for c in connections if c.get("client_properties", {}).get("connection_name") == name]
            if ours:
                break
            await asyncio.sleep(0.5)
        await _management(stack_settings, "DELETE", f"/connections/{urllib.parse.quote(ours[0]['name'])}")
        await eventually(lambda: sum(p.value for p in telemetry.metric_points("reelscope.broker.reconnects")) == 1, 30)
        job_id = f"after{uuid.uuid4().hex[:8]}"
        await broker.publish(submission(job_id))
        await eventually(lambda: handled == [job_id])
        await broker.queues[spec.name].delete(if_unused=False, if_empty=False)
    finally:
        await broker.close()


async def _management(settings: StackSettings, method: str, path: str, body: object = None) -> Any:
    """One call to RabbitMQ's management API, off the event loop."""

    def call() -> Any:
        with RabbitMQManagementClient(settings.rabbitmq_management_url, timeout_s=5) as rabbitmq:
            return rabbitmq.call(method, path, body)

    return await asyncio.to_thread(call)


async def test_classic_queues_are_selectable_for_a_single_node_broker(
    private_vhost_url: str, stack_settings: StackSettings, telemetry: CapturedTelemetry
) -> None:
    """REELSCOPE_QUEUE_TYPE=classic declares the work queue as classic (quorum is the default, checked in
    test_broker); the broker's management API reports the type it actually created."""
    vhost = private_vhost_url.rsplit("/", 1)[1]  # its own vhost: the session's queues are quorum already
    classic = Broker(BrokerSettings(amqp_url=private_vhost_url, queue_type="classic"), telemetry.telemetry.tracer)
    try:
        await classic.connect()
        await classic.declare_queue(QueueSpec("reelscope.test.classic", (RoutingKey.SUBMITTED,)))
        for name in ("reelscope.test.classic", PARKING_QUEUE):
            described = await _management(stack_settings, "GET", f"/queues/{vhost}/{name}")
            assert described["type"] == "classic"
            assert described["durable"] is True
    finally:
        await classic.close()
