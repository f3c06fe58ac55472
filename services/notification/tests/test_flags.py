"""Failure flag `webhookTargetFailing` in the notification worker, through the real consume loop and RabbitMQ:
every attempt fails as a 503 would, is retried, then parked; nothing reaches the receiver."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from reelscope_contracts import JobCompleted, JobEvent, QueueSpec, StageName
from reelscope_flags.testing import file_flags
from reelscope_messaging import PARKING_QUEUE, Broker, BrokerSettings, Consumer, FailurePolicy, WorkerContext
from reelscope_messaging.broker import retry_queue_name
from reelscope_messaging.headers import ORIGIN_QUEUE_HEADER
from reelscope_messaging.testing import eventually
from reelscope_notification.config import NotificationSettings
from reelscope_notification.worker import build_handler
from reelscope_telemetry import attributes
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import LOCAL_NETWORKS, MASTER_SECRET

pytestmark = pytest.mark.integration


@pytest.fixture
async def fast_broker(rabbitmq_url: str, telemetry: CapturedTelemetry) -> AsyncIterator[Broker]:
    """A broker that retries after 0.1 s and parks after the second attempt."""
    settings = BrokerSettings(amqp_url=rabbitmq_url, publish_timeout_s=5, max_attempts=2, retry_delays_s=(0.1,))
    broker = Broker(settings, telemetry.telemetry.tracer)
    await broker.connect()
    yield broker
    await broker.close()


async def take_parked(broker: Broker, origin: str) -> aio_pika.abc.AbstractIncomingMessage | None:
    """Our message from the shared parking queue (acked, so it is gone); others' are put back."""
    assert broker.channel is not None
    parked = await broker.channel.get_queue(PARKING_QUEUE)
    for _ in range(100):
        message = await parked.get(fail=False)
        if message is None:
            break
        if message.headers.get(ORIGIN_QUEUE_HEADER) == origin:
            await message.ack()
            return message
        await message.nack(requeue=True)
    return None


async def test_webhook_target_failing_retries_then_parks_and_sends_nothing(
    fast_broker: Broker, telemetry: CapturedTelemetry, receiver: Any, tmp_path: Path
) -> None:
    """With webhookTargetFailing on, each attempt's webhook.deliver span is marked injected with outcome `error`
    (no HTTP client span: no request was sent), the message is retried once, then parked with the injected
    503 as its reason; the receiver saw no request."""
    spec = QueueSpec(f"reelscope.test.notify-flag.{uuid.uuid4().hex[:8]}", ())
    settings = NotificationSettings(
        webhook_signing_secrets=[MASTER_SECRET],
        webhook_allowed_networks=LOCAL_NETWORKS,
        storage_dir=tmp_path / "storage",
        webhook_timeout_s=5,
    )
    gave_up: list[str] = []

    async def give_up(_: JobEvent, reason: str) -> None:
        gave_up.append(reason)

    job = JobCompleted(
        job_id=f"flag{uuid.uuid4().hex[:8]}",
        transcript=None,
        webhook_url=receiver.url(),
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    with file_flags(tmp_path / "flags.json", webhookTargetFailing="true") as flags:
        ctx = WorkerContext(broker=fast_broker, telemetry=telemetry.telemetry)
        consumer = Consumer(
            fast_broker,
            telemetry.telemetry,
            spec,
            build_handler(settings, flags)(ctx),
            stage=StageName.NOTIFICATION,
            policy=FailurePolicy.PARK,
            on_give_up=give_up,
        )
        await consumer.start()
        assert fast_broker.channel is not None
        message = aio_pika.Message(job.model_dump_json().encode(), content_type="application/json")
        await fast_broker.channel.default_exchange.publish(message, routing_key=spec.name)
        await eventually(lambda: bool(gave_up))
        await consumer.stop_consuming()
    assert "webhook answered 503 (injected failure, flag webhookTargetFailing; no request sent)" in gave_up[0]
    assert receiver.requests == []
    delivers = [s for s in telemetry.spans() if s.name == "webhook.deliver"]
    assert len(delivers) == 2
    for span in delivers:
        assert span.attributes is not None
        assert span.attributes[attributes.FLAG_INJECTED] == "webhookTargetFailing"
        assert span.attributes[attributes.WEBHOOK_OUTCOME] == "error"
        assert any(e.name == "feature_flag.evaluation" for e in span.events)
    assert not [s for s in telemetry.spans() if s.name.startswith("POST")]
    assert await take_parked(fast_broker, spec.name) is not None
    for name in (spec.name, retry_queue_name(spec.name, 0.1)):
        await fast_broker.queues[name].delete(if_unused=False, if_empty=False)
