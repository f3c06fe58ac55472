"""One robust RabbitMQ connection per process: topology declaration and confirmed, traced publishing."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError, DeliveryError, PublishError
from opentelemetry.trace import INVALID_SPAN, Span, StatusCode, Tracer
from pydantic import BaseModel
from reelscope_contracts import EXCHANGE, QueueSpec, StageProgress
from reelscope_contracts.messages import ROUTING_KEYS
from reelscope_telemetry import Instruments, get_logger, producer_span

from reelscope_messaging.errors import PublishFailed
from reelscope_messaging.settings import BrokerSettings

log = get_logger(__name__)

DEAD_LETTER_EXCHANGE = f"{EXCHANGE}.dead"
PARKING_QUEUE = f"{EXCHANGE}.parked"


def retry_queue_name(queue: str, delay_s: float) -> str:
    """The delay queue in front of `queue`: messages wait `delay_s` in it, then dead-letter back to `queue`.
    The delay is in the name because a queue's TTL cannot change once declared."""
    return f"{queue}.retry.{delay_s:g}s"


@dataclass
class Broker:
    """Connection, channel, exchange and declared queues; hold it for the life of the process.

    We keep our own references to channel, exchange and queues: aio-pika's robust connection only
    keeps weak references and re-declares what is still alive after a reconnect.
    """

    settings: BrokerSettings
    tracer: Tracer
    instruments: Instruments | None = None
    """Where publish-confirm latency and reconnects are counted (None: not counted, e.g. in the CLI)."""
    connection: AbstractRobustConnection | None = None
    channel: AbstractChannel | None = None
    exchange: AbstractExchange | None = None
    queues: dict[str, AbstractQueue] = field(default_factory=dict)

    async def connect(self) -> None:
        """Open the robust connection and a confirming channel, and declare the exchanges."""
        self.connection = await aio_pika.connect_robust(self.settings.amqp_url, timeout=self.settings.connect_timeout_s)
        self.connection.reconnect_callbacks.add(self._on_reconnect)
        self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        await self.channel.set_qos(prefetch_count=self.settings.prefetch)
        self.exchange = await self.channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        # Messages a consumer rejects (malformed, undeliverable) are parked here, never dropped.
        dead = await self.channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
        parked = await self.channel.declare_queue(
            PARKING_QUEUE, durable=True, arguments={"x-queue-type": self.settings.queue_type}
        )
        await parked.bind(dead)

    async def declare_queue(self, spec: QueueSpec) -> AbstractQueue:
        """Declare a durable quorum queue (or, for a transient spec, a server-named exclusive one) and
        its bindings (idempotent)."""
        channel, exchange = self._ready()
        if spec.transient:
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        else:
            queue = await channel.declare_queue(
                spec.name,
                durable=True,
                arguments={"x-queue-type": self.settings.queue_type, "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE},
            )
        for routing_key in spec.bindings:
            await queue.bind(exchange, routing_key=routing_key.value)
        self.queues[spec.name or queue.name] = queue
        if not spec.transient:
            for delay in sorted(set(self.settings.retry_delays_s)):
                name = retry_queue_name(spec.name, delay)
                self.queues[name] = await channel.declare_queue(
                    name,
                    durable=True,
                    arguments={
                        "x-message-ttl": round(delay * 1000),
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": spec.name,
                    },
                )
        return queue

    @property
    def is_connected(self) -> bool:
        """Connected now: false before `connect()`, after `close()` and while the robust connection reconnects."""
        return (
            self.connection is not None
            and not self.connection.is_closed
            and self.connection.connected.is_set()
            and self.exchange is not None
        )

    async def publish(self, event: BaseModel) -> str:
        """Publish `event` persistently under its routing key and wait (bounded) for the broker's confirm.

        Returns the message id. Raises `PublishFailed` when the broker refuses, cannot route, or is slow.
        Progress events are ephemeral hints: published untraced and not persisted.
        """
        _, exchange = self._ready()
        routing_key = ROUTING_KEYS[type(event)].value
        body = event.model_dump_json().encode()
        message_id = uuid.uuid4().hex
        headers: dict[str, str] = {}
        traced = not isinstance(event, StageProgress)
        with self._span(traced, exchange.name, routing_key, message_id, len(body), headers) as span:
            message = aio_pika.Message(
                body,
                headers=dict(headers),
                message_id=message_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT if traced else aio_pika.DeliveryMode.NOT_PERSISTENT,
                type=routing_key,
                timestamp=datetime.now(UTC),
            )
            try:
                await self._confirmed(exchange, message, routing_key, exchange.name)
            except PublishFailed as exc:
                span.set_status(StatusCode.ERROR, f"publish not confirmed: {exc.__cause__.__class__.__name__}")
                raise
        log.debug("message published", routing_key=routing_key, message_id=message_id)
        return message_id

    async def publish_to_queue(self, queue: str, body: bytes, headers: dict[str, Any], message_id: str | None) -> None:
        """Put a message straight into `queue` (default exchange), persistent and confirmed: how retries and
        parked messages travel. Raises `PublishFailed` like `publish`."""
        channel, _ = self._ready()
        message = aio_pika.Message(
            body,
            headers=headers,
            message_id=message_id or uuid.uuid4().hex,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=datetime.now(UTC),
        )
        await self._confirmed(channel.default_exchange, message, queue, queue)

    async def _confirmed(
        self, exchange: AbstractExchange, message: aio_pika.Message, routing_key: str, destination: str
    ) -> None:
        """Publish mandatory and wait, bounded, for the broker's confirm; record how long that took."""
        started = time.perf_counter()
        error: str | None = None
        try:
            await asyncio.wait_for(
                exchange.publish(message, routing_key=routing_key, mandatory=True),
                timeout=self.settings.publish_timeout_s,
            )
        except (TimeoutError, DeliveryError, PublishError, AMQPError, ChannelInvalidStateError, ConnectionError) as exc:
            # ChannelInvalidStateError: the channel closed under us (broker shutting down), not an AMQPError.
            error = type(exc).__name__
            raise PublishFailed(f"{routing_key} not confirmed by the broker: {exc!r}") from exc
        finally:
            if self.instruments is not None:
                attributes = {
                    "messaging.system": "rabbitmq",
                    "messaging.operation.name": "publish",
                    "messaging.operation.type": "send",
                    "messaging.destination.name": destination or "amq.default",
                }
                if error is not None:
                    attributes["error.type"] = error
                self.instruments.publish_duration.record(time.perf_counter() - started, attributes)

    async def _on_reconnect(self, *_: object) -> None:
        """The robust connection came back: aio-pika re-opened our channel and re-registered our consumers."""
        log.warning("broker connection re-established; consumers restored")
        if self.instruments is not None:
            self.instruments.reconnects.add(1)

    @contextlib.contextmanager
    def _span(
        self, traced: bool, exchange: str, routing_key: str, message_id: str, body_size: int, headers: dict[str, str]
    ) -> Iterator[Span]:
        if not traced:
            yield INVALID_SPAN
            return
        with producer_span(
            self.tracer,
            exchange=exchange,
            routing_key=routing_key,
            message_id=message_id,
            body_size=body_size,
            headers=headers,
        ) as span:
            yield span

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    def _ready(self) -> tuple[AbstractChannel, AbstractExchange]:
        if self.channel is None or self.exchange is None:
            raise PublishFailed("not connected to the broker yet")
        return self.channel, self.exchange


async def connect_with_retry(broker: Broker, stop: asyncio.Event | None = None) -> bool:
    """Keep trying to reach the broker (it may start after us); False if `stop` is set first."""
    delay = 0.5
    while stop is None or not stop.is_set():
        try:
            await broker.connect()
            return True
        except (OSError, ConnectionError, TimeoutError) as exc:
            log.warning("broker unreachable, retrying", error=str(exc), retry_in_s=delay)
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 10.0)
    return False
