"""Faults ingest injects on purpose through failure flags (`reelscope flags set ...`), so dashboards and alerts
can be watched reacting: added latency on every /v1 request, and poison messages beside jobs' messages."""

import asyncio

from opentelemetry import trace
from reelscope_contracts.topology import TRANSCODE
from reelscope_flags import INGEST_ADDED_LATENCY_MS, POISON_MESSAGE_RATE, FeatureFlags
from reelscope_messaging import Broker, PublishFailed
from reelscope_telemetry import attributes, get_logger
from starlette.types import ASGIApp, Receive, Scope, Send

log = get_logger(__name__)

POISON_BODY = b"\xff\xfe reelscope poison message (failure flag poisonMessageRate): not JSON, not UTF-8"


class InjectedLatency:
    """ASGI middleware: `ingestAddedLatencyMs` ms of sleep before every /v1 request is handled (inside the
    request's server span, which records the evaluation and the delay)."""

    def __init__(self, app: ASGIApp, flags: FeatureFlags) -> None:
        self.app = app
        self.flags = flags

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith("/v1/"):
            delay_ms = self.flags.integer(INGEST_ADDED_LATENCY_MS)
            if delay_ms > 0:
                trace.get_current_span().set_attributes(
                    {attributes.FLAG_INJECTED: INGEST_ADDED_LATENCY_MS, attributes.FLAG_DELAY: delay_ms / 1000}
                )
                await asyncio.sleep(delay_ms / 1000)
        await self.app(scope, receive, send)


async def maybe_publish_poison(broker: Broker, flags: FeatureFlags) -> None:
    """With probability `poisonMessageRate`, put one undecodable message into the transcode queue (persistent,
    confirmed), which transcode's consumer parks as malformed; the job that triggered it is unaffected (a poison
    message the broker did not confirm is only logged: the job itself was queued)."""
    rate = flags.roll(POISON_MESSAGE_RATE)
    if rate is None:
        return
    try:
        await broker.publish_to_queue(
            TRANSCODE.name, POISON_BODY, {attributes.FLAG_INJECTED: POISON_MESSAGE_RATE}, None
        )
    except PublishFailed as exc:
        log.warning("injected poison message not confirmed", flag=POISON_MESSAGE_RATE, error=str(exc))
        return
    trace.get_current_span().set_attribute(attributes.FLAG_INJECTED, POISON_MESSAGE_RATE)
    log.warning("injected poison message", flag=POISON_MESSAGE_RATE, rate=rate, queue=TRANSCODE.name)
