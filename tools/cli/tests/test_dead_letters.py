"""`reelscope dead-letters`: listing leaves parked messages in place; replay puts them back on their queue
with a fresh attempt count, and removes them from the parking queue only after that; discard removes exactly the
named ones (real RabbitMQ)."""

import uuid
from collections.abc import Iterator

import aio_pika
import pytest
from reelscope_cli.dead_letters import discard, list_dead_letters, replay
from reelscope_messaging import PARKING_QUEUE, Broker
from reelscope_messaging.headers import ATTEMPT_HEADER, ORIGIN_QUEUE_HEADER, REASON_HEADER
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry

pytestmark = pytest.mark.integration


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    with capture_telemetry("cli-test") as captured:
        yield captured


async def test_list_then_replay_a_parked_message(broker: Broker, rabbitmq_url: str) -> None:
    """A message parked with reason and origin is listed (and stays), then replayed to its queue once."""
    assert broker.channel is not None
    origin = await broker.channel.declare_queue(f"reelscope.test.replay.{uuid.uuid4().hex[:8]}", auto_delete=True)
    message_id = uuid.uuid4().hex
    await broker.publish_to_queue(
        PARKING_QUEUE,
        b'{"job_id": "jobdead", "kind": "job.submitted"}',
        {ORIGIN_QUEUE_HEADER: origin.name, REASON_HEADER: "webhook answered 503 (gave up after 5 attempts)",
         ATTEMPT_HEADER: 5, "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
        message_id,
    )  # fmt: skip

    for _ in range(2):  # listing twice shows it twice: nothing is consumed
        letters = {letter.message_id: letter for letter in await list_dead_letters(rabbitmq_url, limit=10_000)}
        assert letters[message_id].origin_queue == origin.name
        assert letters[message_id].reason == "webhook answered 503 (gave up after 5 attempts)"
        assert letters[message_id].attempts == 5
        assert letters[message_id].job_id == "jobdead"

    replayed = await replay(rabbitmq_url, {message_id})
    assert [letter.message_id for letter in replayed] == [message_id]
    back = await origin.get(timeout=5, no_ack=False)
    assert back.message_id == message_id
    assert back.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert ATTEMPT_HEADER not in back.headers  # a fresh start
    assert REASON_HEADER not in back.headers
    assert back.headers["traceparent"].startswith("00-111")  # still in the job's trace
    await back.ack()
    remaining = {letter.message_id for letter in await list_dead_letters(rabbitmq_url, limit=10_000)}
    assert message_id not in remaining


async def test_discard_removes_only_the_named_messages(broker: Broker, rabbitmq_url: str) -> None:
    """A poison message is discarded for good; another parked message stays parked."""
    poison, other = uuid.uuid4().hex, uuid.uuid4().hex
    for message_id in (poison, other):
        await broker.publish_to_queue(PARKING_QUEUE, b"\xff not json", {REASON_HEADER: "malformed"}, message_id)

    discarded = await discard(rabbitmq_url, {poison})
    assert [letter.message_id for letter in discarded] == [poison]
    remaining = {letter.message_id for letter in await list_dead_letters(rabbitmq_url, limit=10_000)}
    assert poison not in remaining
    assert other in remaining
    await discard(rabbitmq_url, {other})
