"""Inspect, replay or discard the parking queue: messages that were malformed or ran out of attempts.

Listing takes messages without acknowledging them and closes the channel, so RabbitMQ puts every one back;
replaying publishes a parked message (confirmed) to the queue it came from with a fresh attempt count, and
only then removes it from the parking queue — a replay can never lose a message. Discarding removes messages
that were inspected and can never succeed (a poison message replayed would only be parked again)."""

import json
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from reelscope_messaging import PARKING_QUEUE
from reelscope_messaging.headers import (
    ATTEMPT_HEADER,
    CATEGORY_HEADER,
    ORIGIN_QUEUE_HEADER,
    ORIGIN_ROUTING_KEY_HEADER,
    REASON_HEADER,
)

PARK_HEADERS = {
    ATTEMPT_HEADER,
    CATEGORY_HEADER,
    ORIGIN_QUEUE_HEADER,
    ORIGIN_ROUTING_KEY_HEADER,
    REASON_HEADER,
    "x-death",
}


@dataclass(frozen=True)
class DeadLetter:
    """What a parked message is, and why it is here."""

    message_id: str | None
    origin_queue: str | None
    reason: str
    attempts: int | None
    job_id: str | None
    body_preview: str


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _origin(message: AbstractIncomingMessage) -> str | None:
    """Our header, or (for messages the broker dead-lettered itself) the queue in `x-death`."""
    headers = message.headers or {}
    origin = _text(headers.get(ORIGIN_QUEUE_HEADER))
    if origin:
        return origin
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return _text(deaths[0].get("queue"))
    return None


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    body = message.body.decode("utf-8", "replace")
    try:
        job_id = json.loads(body).get("job_id")
    except (ValueError, AttributeError):
        job_id = None
    attempts = headers.get(ATTEMPT_HEADER)
    return DeadLetter(
        message_id=message.message_id,
        origin_queue=_origin(message),
        reason=_text(headers.get(REASON_HEADER)) or "rejected by a consumer (no reason recorded)",
        attempts=attempts if isinstance(attempts, int) else None,
        job_id=job_id if isinstance(job_id, str) else None,
        body_preview=body[:200],
    )


async def _take(channel: aio_pika.abc.AbstractChannel, limit: int) -> list[AbstractIncomingMessage]:
    queue = await channel.get_queue(PARKING_QUEUE, ensure=True)
    taken: list[AbstractIncomingMessage] = []
    while len(taken) < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    return taken


async def list_dead_letters(amqp_url: str, limit: int = 100) -> list[DeadLetter]:
    """Up to `limit` parked messages, left in place."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        return [describe(m) for m in await _take(channel, limit)]
    finally:
        await connection.close()  # unacknowledged messages return to the parking queue


async def replay(amqp_url: str, message_ids: set[str] | None, limit: int = 10_000) -> list[DeadLetter]:
    """Put parked messages (all, or those with the given ids) back on their queues; returns what was replayed."""
    connection = await aio_pika.connect(amqp_url)
    replayed: list[DeadLetter] = []
    try:
        channel = await connection.channel(publisher_confirms=True)
        for message in await _take(channel, limit):
            letter = describe(message)
            if letter.origin_queue is None or (message_ids is not None and letter.message_id not in message_ids):
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if k not in PARK_HEADERS}
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    message_id=message.message_id,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=letter.origin_queue,
                mandatory=True,
            )
            await message.ack()
            replayed.append(letter)
    finally:
        await connection.close()
    return replayed


async def discard(amqp_url: str, message_ids: set[str] | None, limit: int = 10_000) -> list[DeadLetter]:
    """Remove parked messages (all, or those with the given ids) for good; returns what was discarded."""
    connection = await aio_pika.connect(amqp_url)
    discarded: list[DeadLetter] = []
    try:
        channel = await connection.channel()
        for message in await _take(channel, limit):
            letter = describe(message)
            if message_ids is None or letter.message_id in message_ids:
                await message.ack()
                discarded.append(letter)
    finally:
        await connection.close()  # the others return to the parking queue
    return discarded
