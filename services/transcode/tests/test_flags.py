"""Failure flags in the transcode worker: an injected failure rate and a slow memory growth."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from aio_pika.abc import AbstractQueue
from reelscope_contracts import FailureCategory, JobFailed, JobTranscoded, QueueSpec, RoutingKey, StageName
from reelscope_flags import FeatureFlags
from reelscope_flags.testing import file_flags
from reelscope_messaging import Broker, Consumer, FailurePolicy, WorkerContext
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.faults import MIB, InjectedFaults
from reelscope_transcode.worker import build_handler

from .test_worker import deliver, stage_outcomes

OUTCOMES = (JobTranscoded, JobFailed)


@pytest.fixture
async def events(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private queue seeing the stage's outcomes."""
    bindings = (RoutingKey.TRANSCODED, RoutingKey.FAILED)
    async with private_queue(broker, "reelscope.test.transcode-flag-events", bindings) as queue:
        yield queue


@pytest.fixture
async def work_queue(broker: Broker) -> AsyncIterator[QueueSpec]:
    """A work queue reached only through the default exchange (a running stack never sees these jobs)."""
    spec = QueueSpec(f"reelscope.test.transcode-flag-work.{uuid.uuid4().hex[:8]}", ())
    yield spec
    await broker.queues[spec.name].delete(if_unused=False, if_empty=False)


@pytest.mark.integration
async def test_failure_rate_one_fails_the_job_once_with_a_human_reason(
    broker: Broker,
    events: AbstractQueue,
    work_queue: QueueSpec,
    storage: FilesystemStorage,
    settings: TranscodeSettings,
    telemetry: CapturedTelemetry,
    submit: Any,
    clips: Any,
    tmp_path: Path,
) -> None:
    """transcodeFailureRate=1 turns a good clip into job.failed (a processing error, not retried), and the
    evaluation is a feature_flag.evaluation event in the job's trace."""
    with file_flags(tmp_path / "flags.json", transcodeFailureRate="1") as flags:
        ctx = WorkerContext(broker=broker, telemetry=telemetry.telemetry)
        consumer = Consumer(
            broker,
            telemetry.telemetry,
            work_queue,
            build_handler(settings, storage, flags)(ctx),
            stage=StageName.TRANSCODE,
            policy=FailurePolicy.FAIL_JOB,
        )
        await consumer.start()
        job = await submit(clips("tiny.mp4"))
        await deliver(broker, work_queue, job)
        failed = (await collect_events(events, job.job_id, OUTCOMES))[-1]
    assert isinstance(failed, JobFailed)
    assert failed.reason == "injected failure (flag transcodeFailureRate=1)"
    assert failed.category is FailureCategory.PROCESSING_ERROR
    for _ in range(20):
        if stage_outcomes(telemetry):
            break
        await asyncio.sleep(0.1)
    assert stage_outcomes(telemetry) == ["failed"]
    evaluations = [
        event
        for span in telemetry.spans()
        for event in span.events
        if event.name == "feature_flag.evaluation"
        and dict(event.attributes or {}).get("feature_flag.key") == "transcodeFailureRate"
    ]
    assert evaluations


@pytest.mark.unit
def test_memory_leak_flag_grows_resident_memory_per_job(tmp_path: Path) -> None:
    """transcodeMemoryLeakMbPerJob=16 keeps 16 MiB per job in the worker's faults object, resident (RSS grows);
    with the flag off nothing more is kept."""
    process = psutil.Process()
    path = tmp_path / "flags.json"
    with file_flags(path, transcodeMemoryLeakMbPerJob="16") as flags:
        faults = InjectedFaults(flags)
        before = process.memory_info().rss
        for _ in range(3):
            faults.before_job()
        grown = process.memory_info().rss - before
    assert faults.kept_bytes == 48 * MIB
    assert grown >= 40 * MIB
    off = InjectedFaults(FeatureFlags())
    off.before_job()
    assert off.kept_bytes == 0
