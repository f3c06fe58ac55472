"""Overall progress and ETA of a job from its stages' progress.

Stages are weighted by their usual share of a job's wall time (transcode dominates, notification is
a single HTTP call); a finished or skipped stage counts in full. The ETA extrapolates the job's
elapsed processing time at its overall pace, unless the running stage's own ETA says it will take
longer — the better of two rough estimates, labelled as an estimate in the API."""

from datetime import UTC, datetime

from reelscope_contracts import StageName

from reelscope_ingest.core.db import JobRow

STAGE_WEIGHTS: dict[str, float] = {
    StageName.TRANSCODE: 0.60,
    StageName.TRANSCRIPTION: 0.35,
    StageName.NOTIFICATION: 0.05,
}
DONE_STAGE = {"succeeded", "skipped"}
"""Count in full; a failed or cancelled stage counts as far as it got."""
MIN_PERCENT_FOR_ETA = 2.0


def overall_percent(job: JobRow) -> float:
    """0 to 100: the weighted sum of stage progress."""
    if job.status == "completed":
        return 100.0
    total = 0.0
    for stage in job.stages:
        done = 100.0 if stage.status in DONE_STAGE else stage.progress_percent
        total += STAGE_WEIGHTS.get(stage.name, 0.0) * done
    return round(min(total, 100.0), 1)


def eta_seconds(job: JobRow, now: datetime | None = None) -> float | None:
    """Seconds until the job is likely done; None when finished or when there is no basis yet."""
    if job.finished_at is not None:
        return None
    percent = overall_percent(job)
    started = min((s.started_at for s in job.stages if s.started_at is not None), default=None)
    if started is None or percent < MIN_PERCENT_FOR_ETA:
        return None
    elapsed = ((now or datetime.now(UTC)) - started).total_seconds()
    extrapolated = elapsed * (100.0 - percent) / percent
    running_eta = max((s.eta_seconds or 0.0 for s in job.stages if s.status == "running"), default=0.0)
    return round(max(extrapolated, running_eta), 1)
