"""JobStore: the only code that reads and writes job state. Events go through the rules in
`transitions` (idempotent, never backwards); a cancel and the stuck-job detector's failure are applied
here, each in one transaction."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from reelscope_contracts import FailureCategory, JobEvent, JobFailed, JobOwner, JobSubmitted, StageName
from sqlalchemy import CursorResult, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelscope_ingest.core.db import JobRow, StageRow
from reelscope_ingest.core.keys import DEFAULT_TENANT
from reelscope_ingest.core.transitions import (
    OPEN_JOB,
    OPEN_STAGE,
    TERMINAL,
    JobStatus,
    StageStatus,
    Transition,
    apply_event,
    end_job,
    finish_stage,
)

__all__ = ["Cancellation", "JobStatus", "JobStore", "KeyUsage", "StageStatus", "StuckJob", "Transition"]

_HAS_RUNNING_STAGE = exists().where(StageRow.job_id == JobRow.id, StageRow.status == StageStatus.RUNNING)
"""Only a job with a stage under way can be stuck: one waiting in a queue may just be behind a backlog."""


@dataclass(frozen=True)
class Cancellation:
    """The result of a cancel request: the job as it is now, and what to announce."""

    job: JobRow
    transition: Transition
    announce: bool
    """Publish `job.cancelled` (first cancel, or an earlier announcement did not reach the broker)."""
    running_stage: StageName | None


@dataclass(frozen=True)
class KeyUsage:
    """One key's submissions since a moment (and the oldest of them), its unfinished jobs and stored bytes."""

    recent_submissions: int
    oldest_recent: datetime | None
    unfinished: int
    stored_bytes: int


@dataclass(frozen=True)
class StuckJob:
    """A job the stuck-job detector failed: the failure as recorded (to announce) and what it finished."""

    failure: JobFailed
    transition: Transition


def owner_of(job: JobRow) -> JobOwner | None:
    """The job's owner as recorded at submission, for the messages ingest itself publishes about it."""
    return JobOwner.model_validate(job.owner) if job.owner is not None else None


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
        """Record a new job; its tenant and key come from the submission's owner (`default` without one)."""
        now = _now()
        owner = submitted.owner
        job = JobRow(
            id=submitted.job_id,
            tenant=owner.tenant if owner is not None else DEFAULT_TENANT,
            key_id=owner.key_id if owner is not None else None,
            owner=owner.model_dump(mode="json") if owner is not None else None,
            output_bytes=0,
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

    async def get(self, job_id: str, tenant: str | None = None) -> JobRow | None:
        """The job, if it exists and (when `tenant` is given) belongs to that tenant: another tenant's job is
        as absent as a missing one."""
        query = select(JobRow).where(JobRow.id == job_id)
        if tenant is not None:
            query = query.where(JobRow.tenant == tenant)
        async with self._sessions() as session:
            result = await session.execute(query)
            return result.scalar_one_or_none()

    async def usage(self, key_id: str, since: datetime) -> KeyUsage:
        """What one key has in use now, for its rate limit, concurrency limit and storage quota."""
        mine = JobRow.key_id == key_id
        async with self._sessions() as session:
            recent = (
                await session.execute(
                    select(func.count(), func.min(JobRow.created_at)).where(mine, JobRow.created_at >= since)
                )
            ).one()
            unfinished = await session.scalar(select(func.count()).where(mine, JobRow.status.in_(OPEN_JOB)))
            stored = await session.scalar(
                select(func.coalesce(func.sum(JobRow.input_size + JobRow.output_bytes), 0)).where(mine)
            )
        oldest = recent[1]
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # an aggregate bypasses the column type on SQLite
        return KeyUsage(int(recent[0]), oldest, int(unfinished or 0), int(stored or 0))

    async def cancel(self, job_id: str, tenant: str | None = None) -> Cancellation | None:
        """Cancel a job that is not final yet (None when there is no such job, or it is another tenant's)."""
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, job_id, with_for_update=True)
            if job is None or (tenant is not None and job.tenant != tenant):
                return None
            if job.status in TERMINAL:
                announce = job.status == JobStatus.CANCELLED and not job.cancel_announced
                return Cancellation(job, Transition(), announce, None)
            now = _now()
            running = next((s for s in job.stages if s.status == StageStatus.RUNNING), None)
            for stage in job.stages:
                if stage.status in OPEN_STAGE and stage.name != StageName.NOTIFICATION:
                    finish_stage(stage, StageStatus.CANCELLED, now, "cancelled by the client")
            transition = end_job(job, JobStatus.CANCELLED, now)
            job.updated_at = now
            return Cancellation(job, transition, True, StageName(running.name) if running else None)

    async def mark_cancel_announced(self, job_id: str) -> None:
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, job_id, with_for_update=True)
            if job is not None:
                job.cancel_announced = True

    async def idle_jobs(self, cutoff: datetime, limit: int = 100) -> list[str]:
        """Ids of jobs with a stage running but no recorded activity since `cutoff`, longest idle first.
        A job waiting in a queue is not idle in this sense: a backlog is not a dead worker (queue depth and
        age have their own metrics and alerts)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(JobRow.id)
                .where(JobRow.status.in_(OPEN_JOB), JobRow.updated_at < cutoff, _HAS_RUNNING_STAGE)
                .order_by(JobRow.updated_at)
                .limit(limit)
            )
            return list(result.scalars())

    async def fail_stuck(self, job_id: str, cutoff: datetime, idle_s: float) -> StuckJob | None:
        """Fail a job that is still unfinished and idle since before `cutoff`; None if it moved on meanwhile.

        The job is claimed with one conditional UPDATE, so when several ingest replicas sweep at once
        exactly one of them fails (and announces) it; the failure is then applied like a `job.failed`."""
        async with self._apply_lock, self._sessions() as session, session.begin():
            now = _now()
            claim = update(JobRow).where(
                JobRow.id == job_id, JobRow.status.in_(OPEN_JOB), JobRow.updated_at < cutoff, _HAS_RUNNING_STAGE
            )
            claimed = cast(CursorResult[Any], await session.execute(claim.values(updated_at=now)))
            if claimed.rowcount != 1:
                return None
            job = await session.get(JobRow, job_id, populate_existing=True)
            assert job is not None  # claimed in this transaction
            stage = StageName(next(s for s in job.stages if s.status == StageStatus.RUNNING).name)
            failure = JobFailed(
                job_id=job_id,
                stage=stage,
                reason=(
                    f"no progress for {idle_s:g} s in stage {stage}: its worker may have died; "
                    "the job was failed by the stuck-job detector"
                ),
                category=FailureCategory.STUCK,
                webhook_url=job.webhook_url,
                owner=owner_of(job),
                occurred_at=now,
            )
            return StuckJob(failure, apply_event(job, {s.name: s for s in job.stages}, failure))

    async def apply(self, event: JobEvent) -> Transition:
        """Record a stage event; unknown jobs raise LookupError."""
        async with self._apply_lock, self._sessions() as session, session.begin():
            job = await session.get(JobRow, event.job_id, with_for_update=True)
            if job is None:
                raise LookupError(f"unknown job {event.job_id}")
            transition = apply_event(job, {s.name: s for s in job.stages}, event)
            if not transition.duplicate:
                job.updated_at = _now()  # the job's last activity, which the stuck-job detector watches
            return transition
