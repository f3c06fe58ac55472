"""JobStore: the only code that reads and writes job state. Stage events are applied idempotently and
monotonically: messages arrive at least once and sometimes late, so an event that would repeat a change
(a second `job.transcoded`), undo one (a redelivered `job.stage.started` after the stage finished) or
touch a final job (completed, failed, cancelled) changes nothing and is reported as a duplicate. The one
exception: a final job may still record its notification outcome, once."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from reelscope_contracts import (
    FailureCategory,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobNotified,
    JobSubmitted,
    JobTranscoded,
    StageName,
    StageProgress,
    StageStarted,
)
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelscope_ingest.core.db import JobRow, StageRow


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


TERMINAL = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
OPEN_STAGE = {StageStatus.PENDING, StageStatus.RUNNING}


@dataclass(frozen=True)
class Transition:
    """What applying an event did: whether the job just reached a final state, and what it cost."""

    job_finished: JobStatus | None = None
    duration_s: float | None = None
    failure_category: str | None = None
    cpu_seconds: float = 0.0
    duplicate: bool = False
    """The event repeated or contradicted what is already recorded (redelivered, late): nothing changed."""


DUPLICATE = Transition(duplicate=True)


@dataclass(frozen=True)
class Cancellation:
    """The result of a cancel request: the job as it is now, and what to announce."""

    job: JobRow
    transition: Transition
    announce: bool
    """Publish `job.cancelled` (first cancel, or an earlier announcement did not reach the broker)."""
    running_stage: StageName | None


def _now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """Job persistence on any SQLAlchemy async database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # SQLite has no row locks: apply one change at a time per process (PostgreSQL also locks the row).
        self._apply_lock = asyncio.Lock()

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

    async def create(self, submitted: JobSubmitted, *, trace_id: str | None) -> JobRow:
        now = _now()
        job = JobRow(
            id=submitted.job_id,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            trace_id=trace_id,
            original_filename=submitted.original_filename,
            input_key=submitted.input_key,
            input_size=submitted.input_size_bytes,
            hls=submitted.hls,
            webhook_url=submitted.webhook_url,
            renditions=[],
            skipped_renditions=[],
            cancel_announced=False,
            stages=[
                StageRow(name=stage.value, position=i, status=StageStatus.PENDING, progress_percent=0.0)
                for i, stage in enumerate(StageName)
            ],
        )
        async with self._sessions() as session, session.begin():
            session.add(job)
        return job

    async def delete(self, job_id: str) -> None:
        async with self._sessions() as session, session.begin():
            job = await session.get(JobRow, job_id)
            if job is not None:
                await session.delete(job)

    async def get(self, job_id: str) -> JobRow | None:
        async with self._sessions() as session:
            result = await session.execute(select(JobRow).where(JobRow.id == job_id))
            return result.scalar_one_or_none()

    async def cancel(self, job_id: str) -> Cancellation | None:
        """Cancel a job that is not final yet (None when there is no such job)."""
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, job_id, with_for_update=True)
            if job is None:
                return None
            if job.status in TERMINAL:
                announce = job.status == JobStatus.CANCELLED and not job.cancel_announced
                return Cancellation(job, Transition(), announce, None)
            now = _now()
            running = next((s for s in job.stages if s.status == StageStatus.RUNNING), None)
            for stage in job.stages:
                if stage.status in OPEN_STAGE and stage.name != StageName.NOTIFICATION:
                    _finish(stage, StageStatus.CANCELLED, now, "cancelled by the client")
            transition = _end(job, JobStatus.CANCELLED, now)
            job.updated_at = now
            return Cancellation(job, transition, True, StageName(running.name) if running else None)

    async def mark_cancel_announced(self, job_id: str) -> None:
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, job_id, with_for_update=True)
            if job is not None:
                job.cancel_announced = True

    async def apply(self, event: JobEvent) -> Transition:
        """Record a stage event; unknown jobs raise LookupError."""
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, event.job_id, with_for_update=True)
            if job is None:
                raise LookupError(f"unknown job {event.job_id}")
            transition = _apply(job, {s.name: s for s in job.stages}, event)
            if not transition.duplicate:
                job.updated_at = _now()  # the job's last activity, which the stuck-job detector watches
            return transition


def _apply(job: JobRow, stages: dict[str, StageRow], event: JobEvent) -> Transition:
    """Apply `event` if it moves the job forward; `DUPLICATE` (and no change at all) otherwise."""
    now = event.occurred_at
    if job.status in TERMINAL and not isinstance(event, (JobNotified, JobTranscoded)):
        return DUPLICATE  # late or redelivered: a final job never changes
    if isinstance(event, StageStarted):
        if stages[event.stage.value].status != StageStatus.PENDING:
            return DUPLICATE  # already running or finished: a redelivery never restarts a stage
        _start(stages[event.stage.value], now)
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.PROCESSING
    elif isinstance(event, StageProgress):
        stage = stages[event.stage.value]
        if stage.status not in OPEN_STAGE:
            return DUPLICATE  # a late hint from a stage that has finished
        percent = max(stage.progress_percent, event.percent)
        if stage.status == StageStatus.RUNNING and (percent, event.eta_seconds) == (
            stage.progress_percent,
            stage.eta_seconds,
        ):
            return DUPLICATE  # says nothing new (a redelivered hint)
        _start(stage, now)
        stage.progress_percent = percent
        stage.eta_seconds = event.eta_seconds
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.PROCESSING
    elif isinstance(event, JobTranscoded):
        # Only once; and on a final job only if it completed before this (delayed) event arrived, to
        # record its outputs: a failed or cancelled job's transcode stage is closed already.
        if stages[StageName.TRANSCODE].status not in OPEN_STAGE:
            return DUPLICATE
        _finish(stages[StageName.TRANSCODE], StageStatus.SUCCEEDED, now, None, event.cpu_seconds)
        job.renditions = [r.model_dump() for r in event.renditions]
        job.skipped_renditions = [r.model_dump() for r in event.skipped_renditions]
        job.hls_master_key = event.hls_master_key
        job.poster_key = event.poster_key
        job.media_duration_s = event.duration_seconds
    elif isinstance(event, JobCompleted):
        skipped = event.transcript is None
        _finish(
            stages[StageName.TRANSCRIPTION],
            StageStatus.SKIPPED if skipped else StageStatus.SUCCEEDED,
            now,
            event.transcription_skipped_reason,
            event.cpu_seconds,
        )
        job.transcript = event.transcript.model_dump() if event.transcript else None
        return _end(job, JobStatus.COMPLETED, now)
    elif isinstance(event, JobFailed):
        if stages[event.stage.value].status not in OPEN_STAGE:
            return DUPLICATE  # a stale failure of a stage that already succeeded (a redelivered run)
        _finish(stages[event.stage.value], StageStatus.FAILED, now, event.reason)
        job.failure_stage = event.stage.value
        job.failure_reason = event.reason
        job.failure_category = event.category.value
        for stage in stages.values():
            if stage.status in OPEN_STAGE and stage.name != StageName.NOTIFICATION:
                _finish(stage, StageStatus.SKIPPED, now, f"not run: {event.stage.value} failed")
        return _end(job, JobStatus.FAILED, now, event.category)
    elif isinstance(event, JobNotified):
        if stages[StageName.NOTIFICATION].status not in OPEN_STAGE:
            return DUPLICATE  # the owner was told once; a redelivered outcome never overwrites it
        status = (
            StageStatus.SUCCEEDED if event.delivered else (StageStatus.SKIPPED if event.skipped else StageStatus.FAILED)
        )
        _finish(stages[StageName.NOTIFICATION], status, now, event.detail)
    else:
        return DUPLICATE  # not a state change (e.g. our own job.submitted/job.cancelled)
    return Transition()


def _start(stage: StageRow, at: datetime) -> None:
    if stage.status == StageStatus.PENDING:
        stage.status = StageStatus.RUNNING
        stage.started_at = at


def _finish(stage: StageRow, status: StageStatus, at: datetime, detail: str | None, cpu: float | None = None) -> None:
    if stage.status in OPEN_STAGE:
        stage.status = status
        stage.started_at = stage.started_at or at
        stage.finished_at = at
        stage.detail = detail
        stage.cpu_seconds = cpu
        stage.eta_seconds = None
        if status in (StageStatus.SUCCEEDED, StageStatus.SKIPPED):
            stage.progress_percent = 100.0


def _end(job: JobRow, status: JobStatus, at: datetime, category: FailureCategory | None = None) -> Transition:
    if job.status in TERMINAL:
        return Transition()
    job.status = status
    job.finished_at = at
    return Transition(
        job_finished=status,
        duration_s=(at - job.created_at).total_seconds(),
        failure_category=category.value if category else None,
        cpu_seconds=sum(s.cpu_seconds or 0.0 for s in job.stages),
    )
