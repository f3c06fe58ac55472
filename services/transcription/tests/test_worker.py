"""The stage on a real RabbitMQ: stage started, then job.completed (after any progress), as published."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aio_pika.abc import AbstractQueue
from reelscope_bench.asr import SENTENCES
from reelscope_contracts import (
    FailureCategory,
    JobCompleted,
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
    StageFailed,
    WorkerContext,
)
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engines import SphinxEngine
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.worker import build_handler

from .conftest import Speech

pytestmark = pytest.mark.integration


@pytest.fixture
async def events(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private queue seeing what the stage publishes (a running stack's ingest may consume its own copy)."""
    bindings = (RoutingKey.STAGE_STARTED, RoutingKey.PROGRESS, RoutingKey.COMPLETED)
    async with private_queue(broker, "reelscope.test.transcription", bindings) as queue:
        yield queue


async def test_handler_publishes_started_then_completed(
    tmp_path: Path,
    speech: Speech,
    broker: Broker,
    events: AbstractQueue,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
) -> None:
    """A job.transcoded message handled by the worker's handler publishes job.stage.started first and
    job.completed last, carrying the transcript; progress events, if any, come in between."""
    job_id = f"job-{uuid.uuid4().hex[:12]}"
    keys = JobKeys(job_id)
    storage = FilesystemStorage(tmp_path / "storage")
    wav = speech.write(tmp_path / "a.wav", speech.sentence(SENTENCES[0]), speech.silence(1))
    await storage.put_file(keys.audio, wav)
    ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry, progress_interval_s=0.01)
    handle = build_handler(TranscriptionSettings(), storage, SphinxEngine(), sphinx_pool)(ctx)

    await handle(JobTranscoded(job_id=job_id, renditions=(), audio_key=keys.audio, duration_seconds=5.0))

    seen = await collect_events(events, job_id, (JobCompleted,))
    assert isinstance(seen[0], StageStarted)
    completed = seen[-1]
    assert isinstance(completed, JobCompleted)
    assert completed.transcript is not None
    assert "quick brown fox" in completed.transcript.text
    assert all(type(e).__name__ == "StageProgress" for e in seen[1:-1])


async def test_handler_refuses_other_messages(
    broker: Broker, sphinx_pool: RecognizerPool, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    """A message that is not job.transcoded fails as malformed instead of crashing the handler."""
    ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry)
    handle = build_handler(TranscriptionSettings(), FilesystemStorage(tmp_path), SphinxEngine(), sphinx_pool)(ctx)
    with pytest.raises(StageFailed) as failure:
        await handle(
            JobSubmitted(job_id="j1", input_key="jobs/j1/input/source.mp4", original_filename="a", input_size_bytes=1)
        )
    assert failure.value.category is FailureCategory.MALFORMED_MESSAGE
    assert failure.value.reason == "transcription cannot handle a job.submitted message"


async def test_cancelling_a_running_job_stops_it_and_publishes_nothing(
    tmp_path: Path,
    speech: Speech,
    broker: Broker,
    events: AbstractQueue,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
) -> None:
    """Through the real consume loop: a cancel while the job is being recognised stops the handler; no
    job.completed is published, no transcript is stored, and the consume loop ends the message as cancelled."""
    job_id = f"job-{uuid.uuid4().hex[:12]}"
    keys = JobKeys(job_id)
    storage = FilesystemStorage(tmp_path / "storage")
    long_audio = [speech.sentence(SENTENCES[1]), speech.silence(1)] * 30
    await storage.put_file(keys.audio, speech.write(tmp_path / "long.wav", *long_audio))
    ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry, progress_interval_s=0.01)
    settings = TranscriptionSettings(asr_chunk_max_s=6, asr_chunk_min_s=2)
    watch = CancellationWatch(lambda j: storage.exists(JobKeys(j).cancel_marker))
    work = QueueSpec(f"reelscope.test.transcription.work.{uuid.uuid4().hex[:8]}", (RoutingKey.TRANSCODED,))
    consumer = Consumer(
        broker,
        telemetry.telemetry,
        work,
        build_handler(settings, storage, SphinxEngine(), sphinx_pool)(ctx),
        stage=StageName.TRANSCRIPTION,
        policy=FailurePolicy.FAIL_JOB,
        cancellation=watch,
    )
    await consumer.start()
    try:
        await broker.publish(JobTranscoded(job_id=job_id, renditions=(), audio_key=keys.audio, duration_seconds=90))
        # Until recognition is under way: the first progress event.
        seen = await collect_events(events, job_id, until=(StageProgress,))
        assert watch.cancel(job_id), "the job was not running when cancelled"
        await asyncio.sleep(3)
        while (message := await events.get(fail=False)) is not None:
            await message.ack()
            seen.append(JOB_EVENT_ADAPTER.validate_json(message.body))
        assert not any(isinstance(e, JobCompleted) and e.job_id == job_id for e in seen)
        assert await storage.list_keys(keys.transcript_prefix) == []
        # The consume loop ended its span on the cancelled branch, which acks the message.
        process_spans = [s for s in telemetry.spans() if s.name.startswith("process")]
        assert any((s.attributes or {}).get("reelscope.job.cancelled") is True for s in process_spans)
    finally:
        await broker.queues[work.name].delete(if_unused=False, if_empty=False)
