"""Failure flags in ingest: added latency on /v1 requests, and a poison message beside a job's message that
the transcode consume loop parks, while the job itself goes through."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from reelscope_contracts import JobEvent, StageName
from reelscope_contracts.topology import TRANSCODE
from reelscope_flags import set_flag
from reelscope_flags.testing import file_flags
from reelscope_ingest.api.injected_faults import POISON_BODY
from reelscope_ingest.core.config import IngestSettings
from reelscope_messaging import PARKING_QUEUE, Broker, BrokerSettings, Consumer, FailurePolicy
from reelscope_messaging.headers import ORIGIN_QUEUE_HEADER
from reelscope_messaging.testing import eventually
from reelscope_telemetry import attributes
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import authorize, running_app

pytestmark = pytest.mark.integration

LATENCY_S = 0.4


async def test_added_latency_delays_every_v1_request_inside_its_server_span(
    ingest_settings: IngestSettings, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    """ingestAddedLatencyMs=400 makes a /v1 request take at least 0.4 s (health checks are not delayed), marked on
    the request's server span with the flag evaluation; set off, requests are fast again without a restart."""
    path = tmp_path / "flags.json"
    with file_flags(path, ingestAddedLatencyMs=str(int(LATENCY_S * 1000))):
        async with running_app(ingest_settings, telemetry) as (app, http):
            await authorize(http, app)
            started = time.perf_counter()
            missing = await http.get("/v1/jobs/0123456789abcdef0123456789abcdef")
            slow_s = time.perf_counter() - started
            started = time.perf_counter()
            await http.get("/healthz")
            health_s = time.perf_counter() - started
            set_flag(path, "ingestAddedLatencyMs", "off")
            for _ in range(20):  # the provider re-reads the file within its poll interval
                await asyncio.sleep(0.1)
                started = time.perf_counter()
                await http.get("/v1/jobs/0123456789abcdef0123456789abcdef")
                fast_s = time.perf_counter() - started
                if fast_s < LATENCY_S:
                    break
    assert missing.status_code == 404
    assert slow_s >= LATENCY_S
    assert health_s < LATENCY_S
    assert fast_s < LATENCY_S
    delayed = [s for s in telemetry.spans() if (s.attributes or {}).get(attributes.FLAG_INJECTED)]
    assert delayed
    span = delayed[0]
    assert span.kind.name == "SERVER"
    assert span.attributes is not None
    assert span.attributes[attributes.FLAG_DELAY] == LATENCY_S
    assert any(e.name == "feature_flag.evaluation" for e in span.events)


@pytest.fixture
async def private_broker(private_vhost_url: str, telemetry: CapturedTelemetry) -> AsyncIterator[Broker]:
    """A broker on a vhost of its own: the session stack's transcode worker must not take this test's messages."""
    connected = Broker(BrokerSettings(amqp_url=private_vhost_url, publish_timeout_s=5), telemetry.telemetry.tracer)
    await connected.connect()
    yield connected
    await connected.close()


async def test_poison_rate_one_parks_an_undecodable_message_beside_the_job(
    ingest_settings: IngestSettings,
    telemetry: CapturedTelemetry,
    private_vhost_url: str,
    private_broker: Broker,
    media: bytes,
    tmp_path: Path,
) -> None:
    """poisonMessageRate=1: a submission still gets 202 and its job reaches the transcode queue; one extra
    undecodable message lands there too, and the transcode consume loop parks it in reelscope.parked."""
    broker = private_broker
    ingest_settings = ingest_settings.model_copy(update={"amqp_url": private_vhost_url})
    seen: list[str] = []

    async def transcode(event: JobEvent) -> None:
        seen.append(event.job_id)

    consumer = Consumer(broker, telemetry.telemetry, TRANSCODE, transcode, stage=StageName.TRANSCODE,
                        policy=FailurePolicy.FAIL_JOB)  # fmt: skip
    await consumer.start()
    try:
        with file_flags(tmp_path / "flags.json", poisonMessageRate="1"):
            async with running_app(ingest_settings, telemetry) as (app, http):
                await authorize(http, app)
                accepted = await http.post("/v1/jobs", files={"file": ("clip.mp4", media, "video/mp4")})
                assert accepted.status_code == 202, accepted.text
                job_id = accepted.json()["job_id"]
                await eventually(lambda: job_id in seen)
    finally:
        await consumer.stop_consuming()
    assert broker.channel is not None
    parked = await broker.channel.get_queue(PARKING_QUEUE)
    found = None
    for _ in range(200):
        message = await parked.get(fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        if message.headers.get(ORIGIN_QUEUE_HEADER) == TRANSCODE.name and message.body == POISON_BODY:
            found = message
            await message.ack()
            break
        await message.nack(requeue=True)
    assert found is not None
    assert seen.count(job_id) == 1
