"""The stuck-job detector on a real SQLite database and a real RabbitMQ: an idle unfinished job is failed
once, with its reason, metrics and a `job.failed` for its owner; active and final jobs are left alone."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aio_pika.abc import AbstractQueue
from reelscope_contracts import (
    FailureCategory,
    JobCompleted,
    JobFailed,
    JobKeys,
    JobTranscoded,
    RoutingKey,
    StageName,
    StageProgress,
    StageStarted,
)
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.db import make_engine, make_sessionmaker
from reelscope_ingest.core.schema import Migrations
from reelscope_ingest.core.store import JobStore
from reelscope_ingest.core.stuck import StuckJobDetector
from reelscope_messaging import Broker, BrokerSettings
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration

Submit = Callable[..., Awaitable[str]]
TIMEOUT_S = 0.5
HOOK = "https://example.test/hook"


@pytest.fixture
def settings(tmp_path: Path) -> IngestSettings:
    return IngestSettings(stuck_job_timeout_s=TIMEOUT_S, storage_dir=tmp_path / "storage")


@pytest.fixture
def storage(settings: IngestSettings) -> FilesystemStorage:
    return FilesystemStorage(settings.storage_dir)


@pytest.fixture
def detector(
    store: JobStore, broker: Broker, storage: FilesystemStorage, telemetry: CapturedTelemetry, settings: IngestSettings
) -> StuckJobDetector:
    return StuckJobDetector(store, broker, storage, telemetry.telemetry, settings)


@pytest.fixture
async def failures(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """Every `job.failed` published while the test runs."""
    async with private_queue(broker, "ingest-stuck-test", (RoutingKey.FAILED,)) as queue:
        yield queue


async def running(store: JobStore, job_id: str) -> str:
    """Put `job_id`'s transcode under way (only a job with a running stage can be stuck)."""
    await store.apply(StageStarted(job_id=job_id, stage=StageName.TRANSCODE))
    return job_id


def _transcoded(job_id: str) -> JobTranscoded:
    return JobTranscoded(job_id=job_id, renditions=(), audio_key=None, duration_seconds=1.0)


async def _idle() -> None:
    await asyncio.sleep(TIMEOUT_S + 0.2)


async def _nothing_more(queue: AbstractQueue) -> bool:
    await asyncio.sleep(0.3)
    return await queue.get(fail=False) is None


def _metric(telemetry: CapturedTelemetry, name: str) -> list[tuple[float, dict[str, object]]]:
    return [(point.value, dict(point.attributes)) for point in telemetry.metric_points(name)]


async def test_an_idle_running_job_is_failed_once_with_reason_metrics_and_notice(
    store: JobStore,
    submit: Submit,
    detector: StuckJobDetector,
    failures: AbstractQueue,
    storage: FilesystemStorage,
    telemetry: CapturedTelemetry,
) -> None:
    """A job whose transcode started and then went silent is failed as stuck (reason names the stage and the
    deadline), counted in `reelscope.jobs.stuck` and `reelscope.jobs.finished`, announced on the broker with
    its webhook, and marked so workers skip it; a second sweep changes and publishes nothing."""
    job_id = await submit("stuck1", webhook_url=HOOK)
    await store.apply(StageStarted(job_id=job_id, stage=StageName.TRANSCODE))
    await _idle()
    assert [s.failure.job_id for s in await detector.sweep()] == [job_id]

    job = await store.get(job_id)
    assert job is not None
    reason = (
        "no progress for 0.5 s in stage transcode: its worker may have died; "
        "the job was failed by the stuck-job detector"
    )
    assert (job.status, job.failure_stage, job.failure_category, job.failure_reason) == (
        "failed",
        "transcode",
        "stuck",
        reason,
    )
    assert {s.name: s.status for s in job.stages} == {
        "transcode": "failed",
        "transcription": "skipped",
        "notification": "pending",
    }
    [announced] = await collect_events(failures, job_id, until=(JobFailed,), timeout_s=10)
    assert isinstance(announced, JobFailed)
    assert (announced.stage, announced.category, announced.reason, announced.webhook_url) == (
        StageName.TRANSCODE,
        FailureCategory.STUCK,
        reason,
        HOOK,
    )
    assert await storage.exists(JobKeys(job_id).cancel_marker)
    assert _metric(telemetry, "reelscope.jobs.stuck") == [(1, {"reelscope.stage": "transcode"})]
    assert _metric(telemetry, "reelscope.jobs.finished") == [
        (1, {"reelscope.job.outcome": "failed", "reelscope.failure.category": "stuck"})
    ]

    assert await detector.sweep() == []
    assert await _nothing_more(failures)
    assert _metric(telemetry, "reelscope.jobs.stuck") == [(1, {"reelscope.stage": "transcode"})]


async def test_a_job_waiting_in_a_queue_is_never_failed_as_stuck(
    submit: Submit, store: JobStore, detector: StuckJobDetector
) -> None:
    """A backlog is not a dead worker: a job waiting past the deadline for its first stage, or between stages
    (transcode done, transcription not started), is left alone (the 1000-job fault run had jobs queued for
    ten minutes behind the backlog)."""
    waiting = await submit("queued1")
    between = await running(store, await submit("between1"))
    await store.apply(_transcoded(between))
    await _idle()
    assert await detector.sweep() == []
    statuses = {job_id: (await store.get(job_id)).status for job_id in (waiting, between)}  # type: ignore[union-attr]
    assert statuses == {waiting: "queued", between: "processing"}


async def test_recent_activity_and_progress_keep_a_job_alive(
    submit: Submit, store: JobStore, detector: StuckJobDetector, failures: AbstractQueue
) -> None:
    """Only the idle job is failed: one that just got a stage event, and one that just reported progress, are
    left as they were (progress counts as activity)."""
    idle = await submit("idle")
    evented = await submit("evented")
    progressing = await submit("progressing")
    for job_id in (idle, evented, progressing):
        await store.apply(StageStarted(job_id=job_id, stage=StageName.TRANSCODE))
    await _idle()
    await store.apply(
        JobTranscoded(job_id=evented, renditions=(), audio_key="a.wav", duration_seconds=1.0, cpu_seconds=0.1)
    )
    await store.apply(StageProgress(job_id=progressing, stage=StageName.TRANSCODE, percent=42.0, eta_seconds=3.0))
    assert [s.failure.job_id for s in await detector.sweep()] == [idle]
    for job_id in (evented, progressing):
        job = await store.get(job_id)
        assert job is not None
        assert job.status == "processing", job_id
    await collect_events(failures, idle, until=(JobFailed,), timeout_s=10)
    assert await _nothing_more(failures)


async def test_final_jobs_are_never_touched(submit: Submit, store: JobStore, detector: StuckJobDetector) -> None:
    """A completed and a cancelled job, however long ago they finished, are left exactly as they were."""
    done = await submit("done")
    await store.apply(JobCompleted(job_id=done, transcript=None, transcription_skipped_reason="no audio"))
    cancelled = await submit("cancelled")
    await store.cancel(cancelled)
    before = [await store.get(done), await store.get(cancelled)]
    await _idle()
    assert await detector.sweep() == []
    after = [await store.get(done), await store.get(cancelled)]
    assert [(j.status, j.updated_at) for j in after if j] == [(j.status, j.updated_at) for j in before if j]


async def test_a_late_event_of_the_vanished_worker_changes_nothing(
    submit: Submit, store: JobStore, detector: StuckJobDetector
) -> None:
    """After the detector failed a job, its worker's late `job.transcoded` does not revive it."""
    job_id = await submit("late")
    await store.apply(StageStarted(job_id=job_id, stage=StageName.TRANSCODE))
    await _idle()
    await detector.sweep()
    late = await store.apply(
        JobTranscoded(job_id=job_id, renditions=(), audio_key=None, duration_seconds=1.0, cpu_seconds=0.1)
    )
    assert late.duplicate
    job = await store.get(job_id)
    assert job is not None
    assert (job.status, job.failure_category) == ("failed", "stuck")


async def test_two_replicas_sweeping_at_once_fail_a_job_exactly_once(
    submit: Submit,
    store: JobStore,
    database_url: str,
    detector: StuckJobDetector,
    failures: AbstractQueue,
    telemetry: CapturedTelemetry,
) -> None:
    """Two detectors with their own database connections and no shared lock (two ingest replicas) race
    over the same idle jobs: each job is failed, counted and announced by exactly one of them."""
    engine = make_engine(database_url)
    await Migrations().upgrade(engine)
    other = StuckJobDetector(
        JobStore(make_sessionmaker(engine)), detector.broker, detector.storage, detector.telemetry, detector.settings
    )
    job_ids = [await running(store, await submit(f"raced{i}")) for i in range(5)]
    await _idle()
    try:
        mine, theirs = await asyncio.gather(detector.sweep(), other.sweep())
    finally:
        await engine.dispose()
    failed = sorted(s.failure.job_id for s in [*mine, *theirs])
    assert failed == sorted(job_ids)
    for job_id in job_ids:
        assert len(await collect_events(failures, job_id, until=(JobFailed,), timeout_s=10)) == 1
    assert await _nothing_more(failures)
    assert sum(value for value, _ in _metric(telemetry, "reelscope.jobs.stuck")) == len(job_ids)


async def test_a_failure_that_cannot_be_announced_stays_failed_and_is_not_repeated(
    submit: Submit,
    store: JobStore,
    storage: FilesystemStorage,
    telemetry: CapturedTelemetry,
    settings: IngestSettings,
) -> None:
    """With the broker unreachable the job is still failed in the database (and logged); the next sweep does
    not fail or count it again."""
    unreachable = Broker(BrokerSettings(amqp_url="amqp://guest:guest@127.0.0.1:9/"), telemetry.telemetry.tracer)
    detector = StuckJobDetector(store, unreachable, storage, telemetry.telemetry, settings)
    job_id = await running(store, await submit("unannounced"))
    await _idle()
    assert len(await detector.sweep()) == 1
    assert await detector.sweep() == []
    job = await store.get(job_id)
    assert job is not None
    assert job.status == "failed"
    assert any(
        line["event"] == "stuck job failed, but its owner could not be told: broker unavailable"
        and line.get("job_id") == job_id
        for line in telemetry.stdout_lines()
    )
    assert _metric(telemetry, "reelscope.jobs.stuck") == [(1, {"reelscope.stage": "transcode"})]
