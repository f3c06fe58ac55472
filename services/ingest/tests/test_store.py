"""JobStore on a real SQLite database: progress, cancellation, late events and the progress/ETA view."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reelscope_contracts import (
    FailureCategory,
    JobCompleted,
    JobFailed,
    JobNotified,
    JobSubmitted,
    JobTranscoded,
    StageName,
    StageProgress,
    StageStarted,
)
from reelscope_ingest.core.db import make_engine, make_sessionmaker
from reelscope_ingest.core.progress import eta_seconds, overall_percent
from reelscope_ingest.core.schema import Migrations
from reelscope_ingest.core.store import JobStatus, JobStore

pytestmark = pytest.mark.unit


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[JobStore]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    await Migrations().upgrade(engine)
    yield JobStore(make_sessionmaker(engine))
    await engine.dispose()


async def _submit(store: JobStore, job_id: str = "job1") -> None:
    await store.create(
        JobSubmitted(
            job_id=job_id, input_key=f"jobs/{job_id}/input/source.mp4", original_filename="a.mp4", input_size_bytes=10
        ),
        trace_id="0" * 32,
    )


def _transcoded(job_id: str = "job1", cpu: float = 3.0) -> JobTranscoded:
    return JobTranscoded(job_id=job_id, renditions=(), audio_key=None, duration_seconds=10.0, cpu_seconds=cpu)


async def test_progress_moves_forward_only_and_feeds_overall_percent(store: JobStore) -> None:
    """Stage progress is recorded while the stage runs, never goes backwards, and weights into the job's percent."""
    await _submit(store)
    await store.apply(StageStarted(job_id="job1", stage=StageName.TRANSCODE))
    await store.apply(StageProgress(job_id="job1", stage=StageName.TRANSCODE, percent=50.0, eta_seconds=4.0))
    await store.apply(StageProgress(job_id="job1", stage=StageName.TRANSCODE, percent=20.0, eta_seconds=9.0))
    job = await store.get("job1")
    assert job is not None
    transcode = next(s for s in job.stages if s.name == "transcode")
    assert transcode.progress_percent == 50.0
    assert overall_percent(job) == pytest.approx(30.0)  # 0.6 * 50
    await store.apply(_transcoded())
    job = await store.get("job1")
    assert job is not None
    assert overall_percent(job) == pytest.approx(60.0)


async def test_eta_extrapolates_elapsed_time_and_respects_the_running_stage(store: JobStore) -> None:
    """ETA = elapsed * remaining/done, but never less than the running stage's own estimate."""
    await _submit(store)
    start = datetime.now(UTC) - timedelta(seconds=30)
    await store.apply(StageStarted(job_id="job1", stage=StageName.TRANSCODE, occurred_at=start))
    await store.apply(StageProgress(job_id="job1", stage=StageName.TRANSCODE, percent=50.0, eta_seconds=500.0))
    job = await store.get("job1")
    assert job is not None
    now = start + timedelta(seconds=30)
    assert eta_seconds(job, now) == pytest.approx(500.0)  # the stage knows better than 30 s * 70/30
    await store.apply(StageProgress(job_id="job1", stage=StageName.TRANSCODE, percent=50.0, eta_seconds=1.0))
    job = await store.get("job1")
    assert job is not None
    assert eta_seconds(job, now) == pytest.approx(30 * 70 / 30, rel=0.01)


async def test_cancel_is_final_and_later_stage_events_change_nothing(store: JobStore) -> None:
    """Cancelling marks running/pending stages cancelled; a late completion neither revives nor counts the job."""
    await _submit(store)
    await store.apply(StageStarted(job_id="job1", stage=StageName.TRANSCODE))
    cancellation = await store.cancel("job1")
    assert cancellation is not None
    assert cancellation.announce
    assert cancellation.running_stage is StageName.TRANSCODE
    assert cancellation.transition.job_finished is JobStatus.CANCELLED
    late = await store.apply(JobCompleted(job_id="job1", transcript=None, transcription_skipped_reason="x"))
    assert late.job_finished is None
    job = await store.get("job1")
    assert job is not None
    assert job.status == "cancelled"
    assert {s.name: s.status for s in job.stages} == {
        "transcode": "cancelled",
        "transcription": "cancelled",
        "notification": "pending",
    }
    await store.apply(JobNotified(job_id="job1", delivered=True, detail="webhook answered 204"))
    job = await store.get("job1")
    assert job is not None
    assert next(s for s in job.stages if s.name == "notification").status == "succeeded"


async def test_repeated_cancel_announces_again_only_until_announced(store: JobStore) -> None:
    """A second DELETE re-announces only if the first announcement did not reach the broker."""
    await _submit(store)
    first = await store.cancel("job1")
    assert first is not None
    again = await store.cancel("job1")
    assert again is not None
    assert again.announce
    assert again.transition.job_finished is None
    await store.mark_cancel_announced("job1")
    third = await store.cancel("job1")
    assert third is not None
    assert not third.announce


async def test_cancel_of_a_finished_job_changes_nothing(store: JobStore) -> None:
    """A completed job stays completed."""
    await _submit(store)
    await store.apply(_transcoded())
    await store.apply(JobCompleted(job_id="job1", transcript=None, transcription_skipped_reason="no audio"))
    result = await store.cancel("job1")
    assert result is not None
    assert result.job.status == "completed"
    assert not result.announce
    assert await store.cancel("nope") is None


async def test_failure_records_category_skips_later_stages_and_sums_cpu(store: JobStore) -> None:
    """A failed job keeps reason and category, later stages read `skipped`, and the transition carries CPU time."""
    await _submit(store)
    await store.apply(_transcoded(cpu=2.5))
    transition = await store.apply(
        JobFailed(
            job_id="job1",
            stage=StageName.TRANSCRIPTION,
            reason="recogniser crashed",
            category=FailureCategory.PROCESSING_ERROR,
        )
    )
    assert transition.job_finished is JobStatus.FAILED
    assert transition.failure_category == "processing_error"
    assert transition.cpu_seconds == pytest.approx(2.5)
    job = await store.get("job1")
    assert job is not None
    assert job.failure_category == "processing_error"
