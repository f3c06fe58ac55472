"""Retries with backoff through delay queues, and the parking queue after the last attempt (real RabbitMQ)."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import pytest
from reelscope_contracts import FailureCategory, JobFailed, JobSubmitted, QueueSpec, RoutingKey, StageName
from reelscope_messaging import (
    PARKING_QUEUE,
    Broker,
    BrokerSettings,
    Consumer,
    FailurePolicy,
    RetryLater,
    StageFailed,
)
from reelscope_messaging.broker import retry_queue_name
from reelscope_messaging.headers import ATTEMPT_HEADER, ORIGIN_QUEUE_HEADER, REASON_HEADER
from reelscope_messaging.testing import eventually, submission
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration


@pytest.fixture
async def fast_broker(rabbitmq_url: str, telemetry: CapturedTelemetry) -> AsyncIterator[Broker]:
    """A broker that retries after 0.2 s, then 0.4 s, and gives up after the third attempt."""
    settings = BrokerSettings(amqp_url=rabbitmq_url, publish_timeout_s=5, max_attempts=3, retry_delays_s=(0.2, 0.4))
    broker = Broker(settings, telemetry.telemetry.tracer)
    await broker.connect()
    yield broker
    await broker.close()


async def _cleanup(broker: Broker, spec: QueueSpec) -> None:
    for name in [spec.name, *(retry_queue_name(spec.name, d) for d in broker.settings.retry_delays_s)]:
        await broker.queues[name].delete(if_unused=False, if_empty=False)


async def test_transient_failures_are_retried_with_backoff_and_linked_spans(
    fast_broker: Broker, telemetry: CapturedTelemetry
) -> None:
    """Two RetryLater then success: three deliveries (attempts 1, 2, 3) spaced by the configured delays, one trace,
    each retry's span linked to the attempt before it, retries counted, nothing parked or failed."""
    spec = QueueSpec(f"reelscope.test.retry.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    calls: list[float] = []

    async def handler(_: object) -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 3:
            raise RetryLater("storage hiccup", FailureCategory.STORAGE_ERROR)

    consumer = Consumer(
        fast_broker, telemetry.telemetry, spec, handler, stage=StageName.TRANSCODE, policy=FailurePolicy.FAIL_JOB
    )
    await consumer.start()
    job_id = f"retry{uuid.uuid4().hex[:8]}"
    await fast_broker.publish(submission(job_id))
    await eventually(lambda: len(calls) == 3)
    assert calls[1] - calls[0] >= 0.2
    assert calls[2] - calls[1] >= 0.4
    await eventually(lambda: len([s for s in telemetry.spans() if spec.name in s.name]) == 3)
    spans = sorted((s for s in telemetry.spans() if spec.name in s.name), key=lambda s: s.start_time or 0)
    assert len({s.context.trace_id for s in spans}) == 1
    assert [s.attributes.get("reelscope.attempt", 1) for s in spans] == [1, 2, 3]
    for earlier, later in itertools.pairwise(spans):
        assert [link.context.span_id for link in later.links] == [earlier.context.span_id]
    assert [s.status.is_ok for s in spans] == [False, False, True]
    assert not [s for s in telemetry.spans() if s.name == "publish reelscope:job.failed"]
    retried = telemetry.metric_points("reelscope.messages.retried")
    assert sum(p.value for p in retried) == 2
    assert all(
        dict(p.attributes) == {"reelscope.queue": spec.name, "reelscope.failure.category": "storage_error"}
        for p in retried
    )
    await _cleanup(fast_broker, spec)


async def test_out_of_attempts_parks_the_message_and_fails_thesubmission(
    fast_broker: Broker, telemetry: CapturedTelemetry
) -> None:
    """Always transient: after the third attempt the message is parked with reason, origin and attempt count,
    the give-up hook hears it once, and job.failed says it gave up after 3 attempts. A permanent failure is
    not retried at all (and is no give-up)."""
    spec = QueueSpec(f"reelscope.test.giveup.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    failed = await fast_broker.declare_queue(QueueSpec(f"{spec.name}.failed", (RoutingKey.FAILED,)))
    assert fast_broker.channel is not None
    parked = await fast_broker.channel.get_queue(PARKING_QUEUE)
    calls: dict[str, int] = {}
    doomed, broken = f"giveup{uuid.uuid4().hex[:8]}", f"perm{uuid.uuid4().hex[:8]}"

    async def handler(event: JobSubmitted) -> None:  # type: ignore[misc]
        calls[event.job_id] = calls.get(event.job_id, 0) + 1
        if event.job_id == broken:
            raise StageFailed("input is not media", FailureCategory.INVALID_INPUT)
        raise RetryLater("webhook answered 503")

    gave_up: list[tuple[str, str]] = []

    async def give_up(event: JobSubmitted, reason: str) -> None:  # type: ignore[misc]
        gave_up.append((event.job_id, reason))

    consumer = Consumer(
        fast_broker,
        telemetry.telemetry,
        spec,
        handler,  # type: ignore[arg-type]
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
        on_give_up=give_up,  # type: ignore[arg-type]
    )
    await consumer.start()
    await fast_broker.publish(submission(doomed))
    await fast_broker.publish(submission(broken))
    events: dict[str, JobFailed] = {}

    async def collect() -> None:
        while len(events) < 2:
            message = await failed.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            event = JobFailed.model_validate_json(message.body)
            # A running stack's own transcode worker fails these jobs too (no input): keep only ours.
            if event.reason in ("webhook answered 503 (gave up after 3 attempts)", "input is not media"):
                events[event.job_id] = event

    await asyncio.wait_for(collect(), 15)
    assert calls == {doomed: 3, broken: 1}
    assert gave_up == [(doomed, "webhook answered 503 (gave up after 3 attempts)")]
    assert events[doomed].reason == "webhook answered 503 (gave up after 3 attempts)"
    assert events[broken].reason == "input is not media"
    found = None
    for _ in range(100):
        message = await parked.get(fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        if message.headers.get(ORIGIN_QUEUE_HEADER) == spec.name:
            found = message
            await message.ack()
            break
        await message.nack(requeue=True)
    assert found is not None
    assert found.headers[ATTEMPT_HEADER] == 3
    assert found.headers[REASON_HEADER] == "webhook answered 503 (gave up after 3 attempts)"
    assert doomed in found.body.decode()
    await failed.delete(if_unused=False, if_empty=False)
    await _cleanup(fast_broker, spec)
