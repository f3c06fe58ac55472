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
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

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
    attempt: int = 1,
) -> Iterator[Span]:
    """A CONSUMER span, child of the publisher's span, inside the job's scope when the job is known.

    A redelivered retry (attempt > 1) stays the child of the original publish, so it is in the job's trace,
    and carries a span link to the attempt before it (header `PREVIOUS_ATTEMPT_HEADER`).
    Exceptions propagate; the span records them and ends with status ERROR.
    """
    parent = propagate.extract(headers, getter=_GETTER)
    links = _previous_attempt_link(headers)
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
    if attempt > 1:
        attributes["reelscope.attempt"] = attempt
    with tracer.start_as_current_span(
        f"process {destination}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes, links=links
    ) as span:
        if job_id is None:
            yield span
        else:
            with job_scope(job_id):
                yield span


PREVIOUS_ATTEMPT_HEADER = "x-reelscope-previous-attempt"
"""W3C traceparent of the consumer span of the attempt that scheduled this retry."""


def previous_attempt_header(span: Span) -> str | None:
    """The value a retry carries so the next attempt's span can link back to `span`."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def _previous_attempt_link(headers: Mapping[str, Any]) -> list[Link]:
    values = _GETTER.get(headers, PREVIOUS_ATTEMPT_HEADER)
    if not values:
        return []
    linked = trace.get_current_span(TraceContextTextMapPropagator().extract({"traceparent": values[0]}))
    ctx = linked.get_span_context()
    return [Link(ctx, {"reelscope.link": "previous_attempt"})] if ctx.is_valid else []


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside a recording span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
