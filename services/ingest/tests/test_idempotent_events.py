"""Stage events are delivered at least once and sometimes late: applying one twice, or after a later
stage's event, changes nothing — no second update, no second finished-job count, no status regression."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from reelscope_contracts import (
    FailureCategory,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobNotified,
    JobTranscoded,
    Rendition,
    StageName,
    StageProgress,
    StageStarted,
)
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.store import JobStore
from reelscope_ingest.events import event_handler
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.unit

JOB = "job1"
Submit = Callable[..., Awaitable[str]]


def _rendition(name: str) -> Rendition:
    return Rendition(name=name, width=640, height=360, key=f"jobs/{JOB}/media/{name}.mp4", size_bytes=100)


def _transcoded(name: str = "360p") -> JobTranscoded:
    return JobTranscoded(
        job_id=JOB, renditions=(_rendition(name),), audio_key=None, duration_seconds=4.0, cpu_seconds=2.0
    )


def _completed() -> JobCompleted:
    return JobCompleted(job_id=JOB, transcript=None, transcription_skipped_reason="input has no audio track")


def _failed(stage: StageName = StageName.TRANSCODE) -> JobFailed:
    return JobFailed(job_id=JOB, stage=stage, reason="boom", category=FailureCategory.PROCESSING_ERROR)


async def _snapshot(store: JobStore) -> dict[str, Any]:
    """Every column of the job and its stages, `updated_at` included (a no-op must not even touch it)."""
    job = await store.get(JOB)
    assert job is not None
    columns = {c.key: getattr(job, c.key) for c in job.__table__.columns}
    stages = {s.name: {c.key: getattr(s, c.key) for c in s.__table__.columns} for s in job.stages}
    return columns | {"stages": stages}


def _finished_count(telemetry: CapturedTelemetry) -> int:
    return sum(point.value for point in telemetry.metric_points("reelscope.jobs.finished"))


def _duration_samples(telemetry: CapturedTelemetry) -> int:
    return sum(point.count for point in telemetry.metric_points("reelscope.job.duration"))


def _duplicates(telemetry: CapturedTelemetry) -> int:
    return sum(point.value for point in telemetry.metric_points("reelscope.messages.duplicates_skipped"))


def _happy_path() -> tuple[JobEvent, ...]:
    """A job's events in order, stamped now (after the job was created)."""
    return (
        StageStarted(job_id=JOB, stage=StageName.TRANSCODE),
        StageProgress(job_id=JOB, stage=StageName.TRANSCODE, percent=40.0, eta_seconds=3.0),
        _transcoded(),
        StageStarted(job_id=JOB, stage=StageName.TRANSCRIPTION),
        _completed(),
        JobNotified(job_id=JOB, delivered=True, detail="webhook answered 204"),
    )


async def test_every_event_kind_applied_twice_changes_nothing_the_second_time(
    store: JobStore, submit: Submit, telemetry: CapturedTelemetry
) -> None:
    """Each event of a job's life, redelivered right after it was applied, leaves every column as it was and the
    job is counted as finished (counter and duration histogram) exactly once."""
    await submit(JOB)
    handle = event_handler(store, telemetry.telemetry, IngestSettings())
    events = _happy_path()
    for event in events:
        await handle(event)
        before = await _snapshot(store)
        await handle(event)
        assert await _snapshot(store) == before, f"a second {event.kind} changed the job"
    assert before["status"] == "completed"
    assert _finished_count(telemetry) == 1
    assert _duration_samples(telemetry) == 1
    # The progress hint is dropped quietly; the five other redeliveries are counted.
    assert _duplicates(telemetry) == len(events) - 1


async def test_failure_applied_twice_is_counted_once(
    store: JobStore, submit: Submit, telemetry: CapturedTelemetry
) -> None:
    """A redelivered `job.failed` neither rewrites the failure nor counts the job as failed a second time."""
    await submit(JOB)
    handle = event_handler(store, telemetry.telemetry, IngestSettings())
    await handle(StageStarted(job_id=JOB, stage=StageName.TRANSCODE))
    await handle(_failed())
    before = await _snapshot(store)
    await handle(_failed().model_copy(update={"reason": "a second run failed differently"}))
    assert await _snapshot(store) == before
    assert before["failure_reason"] == "boom"
    points = telemetry.metric_points("reelscope.jobs.finished")
    assert [(p.value, dict(p.attributes)) for p in points] == [
        (1, {"reelscope.job.outcome": "failed", "reelscope.failure.category": "processing_error"})
    ]


async def test_a_second_transcoded_event_never_replaces_the_first_outputs(store: JobStore, submit: Submit) -> None:
    """Outputs are recorded once: a second `job.transcoded` (from a redelivered run) does not swap them."""
    await submit(JOB)
    assert not (await store.apply(_transcoded("360p"))).duplicate
    assert (await store.apply(_transcoded("720p"))).duplicate
    job = await store.get(JOB)
    assert job is not None
    assert [r["name"] for r in job.renditions] == ["360p"]


async def test_late_events_of_an_earlier_stage_do_not_move_the_job_back(store: JobStore, submit: Submit) -> None:
    """After transcode succeeded and transcription started, a late start, progress or failure of transcode
    is ignored: transcode stays succeeded at 100 %, the job keeps processing transcription."""
    await submit(JOB)
    await store.apply(StageStarted(job_id=JOB, stage=StageName.TRANSCODE))
    await store.apply(_transcoded())
    await store.apply(StageStarted(job_id=JOB, stage=StageName.TRANSCRIPTION))
    before = await _snapshot(store)
    for late in (
        StageStarted(job_id=JOB, stage=StageName.TRANSCODE),
        StageProgress(job_id=JOB, stage=StageName.TRANSCODE, percent=10.0, eta_seconds=60.0),
        _failed(StageName.TRANSCODE),
    ):
        assert (await store.apply(late)).duplicate, late.kind
    after = await _snapshot(store)
    assert after == before
    assert after["status"] == "processing"
    assert after["stages"]["transcode"]["status"] == "succeeded"
    assert after["stages"]["transcode"]["progress_percent"] == 100.0
    assert after["stages"]["transcription"]["status"] == "running"


async def test_a_final_job_ignores_stage_events_and_keeps_its_first_notification(
    store: JobStore, submit: Submit
) -> None:
    """A completed job is not reopened by a late start or failure, and a second notification outcome
    (e.g. a failed delivery redelivered after the successful one) does not overwrite the first."""
    await submit(JOB)
    await store.apply(_transcoded())
    await store.apply(_completed())
    await store.apply(JobNotified(job_id=JOB, delivered=True, detail="webhook answered 204"))
    before = await _snapshot(store)
    for late in (
        StageStarted(job_id=JOB, stage=StageName.TRANSCRIPTION),
        _failed(StageName.TRANSCRIPTION),
        JobNotified(job_id=JOB, delivered=False, detail="webhook answered 500"),
    ):
        transition = await store.apply(late)
        assert transition.duplicate, late.kind
        assert transition.job_finished is None
    assert await _snapshot(store) == before
    assert before["status"] == "completed"
    assert before["stages"]["notification"]["detail"] == "webhook answered 204"


async def test_outputs_arriving_after_the_completion_are_still_recorded_once(
    store: JobStore, submit: Submit, telemetry: CapturedTelemetry
) -> None:
    """If `job.completed` overtakes `job.transcoded` (the latter was retried), the job stays completed, counted
    once, and still gets its renditions; a repeat of the late event changes nothing."""
    await submit(JOB)
    handle = event_handler(store, telemetry.telemetry, IngestSettings())
    await handle(_completed())
    await handle(_transcoded())
    job = await store.get(JOB)
    assert job is not None
    assert job.status == "completed"
    assert [r["name"] for r in job.renditions] == ["360p"]
    before = await _snapshot(store)
    await handle(_transcoded("720p"))
    assert await _snapshot(store) == before
    assert _finished_count(telemetry) == 1
