"""The transcode worker on a real RabbitMQ: what it publishes on success, on a refused input and on cancel."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractQueue
from reelscope_contracts import (
    FailureCategory,
    JobFailed,
    JobKeys,
    JobSubmitted,
    JobTranscoded,
    QueueSpec,
    RoutingKey,
    StageName,
    StageProgress,
    StageStarted,
)
from reelscope_contracts.messages import JOB_EVENT_ADAPTER
from reelscope_messaging import (
    Broker,
    CancellationWatch,
    Consumer,
    FailurePolicy,
    WorkerContext,
)
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.worker import build_handler

pytestmark = pytest.mark.integration

OUTCOMES = (JobTranscoded, JobFailed)


@pytest.fixture
async def events(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private queue seeing what the stage publishes (a running stack's ingest consumes its own copy)."""
    bindings = (RoutingKey.STAGE_STARTED, RoutingKey.PROGRESS, RoutingKey.TRANSCODED, RoutingKey.FAILED)
    async with private_queue(broker, "reelscope.test.transcode-events", bindings) as queue:
        yield queue


@pytest.fixture
async def work_queue(broker: Broker) -> AsyncIterator[QueueSpec]:
    """A work queue bound to nothing: messages reach it only through the default exchange, so a running
    stack's transcode worker never sees these test jobs (and ours never sees its jobs)."""
    spec = QueueSpec(f"reelscope.test.transcode-work.{uuid.uuid4().hex[:8]}", ())
    yield spec
    await broker.queues[spec.name].delete(if_unused=False, if_empty=False)


async def deliver(broker: Broker, queue: QueueSpec, job: JobSubmitted) -> None:
    assert broker.channel is not None
    message = aio_pika.Message(job.model_dump_json().encode(), content_type="application/json")
    await broker.channel.default_exchange.publish(message, routing_key=queue.name)


def stage_outcomes(telemetry: CapturedTelemetry) -> list[str]:
    """`reelscope.stage.outcome` of every stage run the consume loop finished (it records after acking)."""
    points = telemetry.metric_points("reelscope.stage.duration")
    return [str(dict(p.attributes)["reelscope.stage.outcome"]) for p in points for _ in range(p.count)]


async def test_handler_publishes_started_progress_then_transcoded(
    broker: Broker,
    events: AbstractQueue,
    storage: FilesystemStorage,
    settings: TranscodeSettings,
    telemetry: CapturedTelemetry,
    submit: Any,
    clips: Any,
) -> None:
    """The handler publishes stage.started, rising progress, then job.transcoded with the stored renditions."""
    ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry, progress_interval_s=0.01)
    handle = build_handler(settings, storage)(ctx)
    job = await submit(clips("720p.mp4"))
    await handle(job)
    seen = await collect_events(events, job.job_id, OUTCOMES)
    assert isinstance(seen[0], StageStarted)
    assert seen[0].stage is StageName.TRANSCODE
    progress = [e for e in seen if isinstance(e, StageProgress)]
    assert progress
    assert [p.percent for p in progress] == sorted(p.percent for p in progress)
    done = seen[-1]
    assert isinstance(done, JobTranscoded)
    assert [r.name for r in done.renditions] == ["360p", "720p"]
    assert all([await storage.exists(r.key) for r in done.renditions])
    assert done.webhook_url == job.webhook_url


async def test_refused_input_becomes_job_failed_with_its_category(
    broker: Broker,
    events: AbstractQueue,
    work_queue: QueueSpec,
    storage: FilesystemStorage,
    settings: TranscodeSettings,
    telemetry: CapturedTelemetry,
    submit: Any,
    clips: Any,
) -> None:
    """Via the real consume loop a still image ends as job.failed with its reason and category, and is acked."""
    ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry)
    consumer = Consumer(
        broker,
        telemetry.telemetry,
        work_queue,
        build_handler(settings, storage)(ctx),
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
    )
    await consumer.start()
    job = await submit(clips("image.png"))
    await deliver(broker, work_queue, job)
    failed = (await collect_events(events, job.job_id, OUTCOMES))[-1]
    assert isinstance(failed, JobFailed)
    assert failed.stage is StageName.TRANSCODE
    assert failed.category is FailureCategory.UNSUPPORTED_MEDIA
    assert failed.reason == "input is a still image (png), not a video or audio file"
    assert failed.webhook_url == job.webhook_url
    for _ in range(20):  # the consume loop records the outcome right after acking
        if stage_outcomes(telemetry):
            break
        await asyncio.sleep(0.1)
    assert stage_outcomes(telemetry) == ["failed"]


async def test_cancelled_job_stops_ffmpeg_and_publishes_no_outcome(
    broker: Broker,
    events: AbstractQueue,
    work_queue: QueueSpec,
    storage: FilesystemStorage,
    settings: TranscodeSettings,
    telemetry: CapturedTelemetry,
    submit: Any,
    clips: Any,
) -> None:
    """A cancel heard mid-encode stops the handler: no transcoded/failed event, no media stored, message acked."""
    ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry, progress_interval_s=0.01)
    watch = CancellationWatch()
    consumer = Consumer(
        broker,
        telemetry.telemetry,
        work_queue,
        build_handler(settings, storage)(ctx),
        stage=StageName.TRANSCODE,
        policy=FailurePolicy.FAIL_JOB,
        cancellation=watch,
    )
    await consumer.start()
    job = await submit(clips("long.mp4"))
    await deliver(broker, work_queue, job)
    seen = await collect_events(events, job.job_id, (StageProgress,))
    assert watch.cancel(job.job_id)
    await asyncio.sleep(1.5)  # a late outcome would be published by now
    while (message := await events.get(fail=False)) is not None:
        await message.ack()
        seen.append(JOB_EVENT_ADAPTER.validate_json(message.body))
    assert not [e for e in seen if e.job_id == job.job_id and isinstance(e, OUTCOMES)]
    assert await storage.list_keys(JobKeys(job.job_id).media_prefix) == []
    assert stage_outcomes(telemetry) == ["cancelled"]  # recorded once the message was acked
