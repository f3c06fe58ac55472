"""How one event moves a job: statuses, and the pure transition rules the store applies (no I/O).

Every rule is idempotent and monotonic: messages arrive at least once and sometimes late, so an event
that would repeat a change (a second `job.transcoded`), undo one (a redelivered `job.stage.started` after
the stage finished) or touch a final job (completed, failed, cancelled) changes nothing and is reported
as `DUPLICATE`. The one exception: a final job may still record its notification outcome, once (and a
completed job the outputs of a `job.transcoded` that arrived after `job.completed`)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reelscope_contracts import (
    FailureCategory,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobNotified,
    JobTranscoded,
    StageName,
    StageProgress,
    StageStarted,
)

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
OPEN_JOB = (JobStatus.QUEUED, JobStatus.PROCESSING)


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


def apply_event(job: JobRow, stages: dict[str, StageRow], event: JobEvent) -> Transition:
    """Apply `event` if it moves the job forward; `DUPLICATE` (and no change at all) otherwise."""
    now = event.occurred_at
    if job.status in TERMINAL and not isinstance(event, (JobNotified, JobTranscoded)):
        return DUPLICATE  # late or redelivered: a final job never changes
    if isinstance(event, StageStarted):
        if stages[event.stage.value].status != StageStatus.PENDING:
            return DUPLICATE  # already running or finished: a redelivery never restarts a stage
        start_stage(stages[event.stage.value], now)
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
        start_stage(stage, now)
        stage.progress_percent = percent
        stage.eta_seconds = event.eta_seconds
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.PROCESSING
    elif isinstance(event, JobTranscoded):
        # Only once; and on a final job only if it completed before this (delayed) event arrived, to
        # record its outputs: a failed or cancelled job's transcode stage is closed already.
        if stages[StageName.TRANSCODE].status not in OPEN_STAGE:
            return DUPLICATE
        finish_stage(stages[StageName.TRANSCODE], StageStatus.SUCCEEDED, now, None, event.cpu_seconds)
        job.renditions = [r.model_dump() for r in event.renditions]
        job.output_bytes = sum(r.size_bytes for r in event.renditions)
        job.skipped_renditions = [r.model_dump() for r in event.skipped_renditions]
        job.hls_master_key = event.hls_master_key
        job.poster_key = event.poster_key
        job.media_duration_s = event.duration_seconds
    elif isinstance(event, JobCompleted):
        skipped = event.transcript is None
        finish_stage(
            stages[StageName.TRANSCRIPTION],
            StageStatus.SKIPPED if skipped else StageStatus.SUCCEEDED,
            now,
            event.transcription_skipped_reason,
            event.cpu_seconds,
        )
        job.transcript = event.transcript.model_dump() if event.transcript else None
        return end_job(job, JobStatus.COMPLETED, now)
    elif isinstance(event, JobFailed):
        if stages[event.stage.value].status not in OPEN_STAGE:
            return DUPLICATE  # a stale failure of a stage that already succeeded (a redelivered run)
        finish_stage(stages[event.stage.value], StageStatus.FAILED, now, event.reason)
        job.failure_stage = event.stage.value
        job.failure_reason = event.reason
        job.failure_category = event.category.value
        for stage in stages.values():
            if stage.status in OPEN_STAGE and stage.name != StageName.NOTIFICATION:
                finish_stage(stage, StageStatus.SKIPPED, now, f"not run: {event.stage.value} failed")
        return end_job(job, JobStatus.FAILED, now, event.category)
    elif isinstance(event, JobNotified):
        if stages[StageName.NOTIFICATION].status not in OPEN_STAGE:
            return DUPLICATE  # the owner was told once; a redelivered outcome never overwrites it
        status = (
            StageStatus.SUCCEEDED if event.delivered else (StageStatus.SKIPPED if event.skipped else StageStatus.FAILED)
        )
        finish_stage(stages[StageName.NOTIFICATION], status, now, event.detail)
    else:
        return DUPLICATE  # not a state change (e.g. our own job.submitted/job.cancelled)
    return Transition()


def start_stage(stage: StageRow, at: datetime) -> None:
    if stage.status == StageStatus.PENDING:
        stage.status = StageStatus.RUNNING
        stage.started_at = at


def finish_stage(
    stage: StageRow, status: StageStatus, at: datetime, detail: str | None, cpu: float | None = None
) -> None:
    if stage.status in OPEN_STAGE:
        stage.status = status
        stage.started_at = stage.started_at or at
        stage.finished_at = at
        stage.detail = detail
        stage.cpu_seconds = cpu
        stage.eta_seconds = None
        if status in (StageStatus.SUCCEEDED, StageStatus.SKIPPED):
            stage.progress_percent = 100.0


def end_job(job: JobRow, status: JobStatus, at: datetime, category: FailureCategory | None = None) -> Transition:
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
