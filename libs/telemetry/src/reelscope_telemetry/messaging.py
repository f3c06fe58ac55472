"""Trace context across RabbitMQ, done by hand (the aio-pika instrumentation loses context with
iterators and writes deprecated attributes): a PRODUCER span injects W3C `traceparent`/`baggage` into
the message headers; the consumer extracts them and runs the handler in a CONSUMER span that is the
producer span's child. One job is therefore one trace, and Tempo's service graph gets queue edges.

Attribute names follow the current messaging semantic conventions for RabbitMQ.
"""

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, Tracer

from reelscope_telemetry._job import job_scope

MESSAGING_SYSTEM = "rabbitmq"


class _HeaderGetter(Getter[Mapping[str, Any]]):
    """Read AMQP headers, whose values may arrive as bytes."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            return None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return [str(value)]

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier.keys())


_GETTER = _HeaderGetter()


def destination_name(exchange: str, routing_key: str, queue: str | None = None) -> str:
    """RabbitMQ destination per semconv: `{exchange}:{routing key}` (plus `:{queue}` when consuming)."""
    return f"{exchange}:{routing_key}" + (f":{queue}" if queue else "")


@contextmanager
def producer_span(
    tracer: Tracer,
    *,
    exchange: str,
    routing_key: str,
    message_id: str,
    body_size: int,
    headers: MutableMapping[str, Any],
) -> Iterator[Span]:
    """A PRODUCER span around one publish; injects trace context and baggage into `headers`."""
    destination = destination_name(exchange, routing_key)
    with tracer.start_as_current_span(
        f"publish {destination}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": MESSAGING_SYSTEM,
            "messaging.operation.type": "send",
            "messaging.operation.name": "publish",
            "messaging.destination.name": destination,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "messaging.message.id": message_id,
            "messaging.message.body.size": body_size,
        },
    ) as span:
        propagate.inject(headers)
        yield span


@contextmanager
def consumer_span(
    tracer: Tracer,
    *,
    headers: Mapping[str, Any],
    exchange: str,
    routing_key: str,
    queue: str,
    message_id: str | None,
    body_size: int,
    job_id: str | None,
) -> Iterator[Span]:
    """A CONSUMER span, child of the publisher's span, inside the job's scope when the job is known.

    Exceptions propagate; the span records them and ends with status ERROR.
    """
    parent = propagate.extract(headers, getter=_GETTER)
    destination = destination_name(exchange, routing_key, queue)
    attributes: dict[str, str | int] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": destination,
        "messaging.rabbitmq.destination.routing_key": routing_key,
        "messaging.message.body.size": body_size,
    }
    if message_id:
        attributes["messaging.message.id"] = message_id
    with tracer.start_as_current_span(
        f"process {destination}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        if job_id is None:
            yield span
        else:
            with job_scope(job_id):
                yield span


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside a recording span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
