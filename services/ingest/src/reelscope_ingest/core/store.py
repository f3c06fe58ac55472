"""JobStore: the only code that reads and writes job state. Stage events are applied idempotently:
a redelivered or late event never moves a finished job or counts it twice."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from reelscope_contracts import (
    JobCompleted,
    JobEvent,
    JobFailed,
    JobNotified,
    JobSubmitted,
    JobTranscoded,
    StageName,
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


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


TERMINAL = {JobStatus.COMPLETED, JobStatus.FAILED}


@dataclass(frozen=True)
class Transition:
    """What applying an event did: whether the job just reached a final state, and its duration."""

    job_finished: JobStatus | None = None
    duration_s: float | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """Job persistence on any SQLAlchemy async database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # SQLite has no row locks: apply one event at a time per process (PostgreSQL also locks the row).
        self._apply_lock = asyncio.Lock()

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

    async def create(self, submitted: JobSubmitted, *, input_size: int, trace_id: str | None) -> JobRow:
        now = _now()
        job = JobRow(
            id=submitted.job_id,
            status=JobStatus.QUEUED,
            created_at=now,
            updated_at=now,
            trace_id=trace_id,
            original_filename=submitted.original_filename,
            input_path=submitted.input_path,
            input_size=input_size,
            webhook_url=submitted.webhook_url,
            renditions=[],
            stages=[
                StageRow(name=stage.value, position=i, status=StageStatus.PENDING) for i, stage in enumerate(StageName)
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

    async def apply(self, event: JobEvent) -> Transition:
        """Record a stage event; unknown jobs raise LookupError."""
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, event.job_id, with_for_update=True)
            if job is None:
                raise LookupError(f"unknown job {event.job_id}")
            now = event.occurred_at
            stages = {s.name: s for s in job.stages}
            transition = Transition()
            if isinstance(event, StageStarted):
                _start(stages[event.stage.value], now)
                if job.status == JobStatus.QUEUED:
                    job.status = JobStatus.PROCESSING
            elif isinstance(event, JobTranscoded):
                _finish(stages[StageName.TRANSCODE], StageStatus.SUCCEEDED, now, None)
                job.renditions = [r.model_dump() for r in event.renditions]
                job.media_duration_s = event.duration_seconds
            elif isinstance(event, JobCompleted):
                skipped = event.transcript is None
                _finish(
                    stages[StageName.TRANSCRIPTION],
                    StageStatus.SKIPPED if skipped else StageStatus.SUCCEEDED,
                    now,
                    event.transcription_skipped_reason,
                )
                job.transcript = event.transcript.model_dump() if event.transcript else None
                transition = _end(job, JobStatus.COMPLETED, now)
            elif isinstance(event, JobFailed):
                _finish(stages[event.stage.value], StageStatus.FAILED, now, event.reason)
                if job.status not in TERMINAL:
                    job.failure_stage = event.stage.value
                    job.failure_reason = event.reason
                transition = _end(job, JobStatus.FAILED, now)
            elif isinstance(event, JobNotified):
                status = (
                    StageStatus.SUCCEEDED
                    if event.delivered
                    else (StageStatus.SKIPPED if event.skipped else StageStatus.FAILED)
                )
                _finish(stages[StageName.NOTIFICATION], status, now, event.detail)
            job.updated_at = _now()
            return transition


def _start(stage: StageRow, at: datetime) -> None:
    if stage.status == StageStatus.PENDING:
        stage.status = StageStatus.RUNNING
        stage.started_at = at


def _finish(stage: StageRow, status: StageStatus, at: datetime, detail: str | None) -> None:
    if stage.status in (StageStatus.PENDING, StageStatus.RUNNING):
        stage.status = status
        stage.started_at = stage.started_at or at
        stage.finished_at = at
        stage.detail = detail


def _end(job: JobRow, status: JobStatus, at: datetime) -> Transition:
    if job.status in TERMINAL:
        return Transition()
    job.status = status
    job.finished_at = at
    return Transition(job_finished=status, duration_s=(at - job.created_at).total_seconds())


def stage_view(stage: StageRow) -> dict[str, Any]:
    """A stage as the API shows it, with its duration when finished."""
    duration = (
        (stage.finished_at - stage.started_at).total_seconds() if stage.started_at and stage.finished_at else None
    )
    return {
        "name": stage.name,
        "status": stage.status,
        "started_at": stage.started_at,
        "finished_at": stage.finished_at,
        "duration_s": duration,
        "detail": stage.detail,
    }
