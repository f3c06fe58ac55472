"""Turn stored job rows into the API's views."""

from reelscope_ingest.api.grafana import grafana_links
from reelscope_ingest.api.schemas import CostView, FailureView, JobView, ProgressView, StageView
from reelscope_ingest.core.db import JobRow, StageRow
from reelscope_ingest.core.progress import eta_seconds, overall_percent


def stage_view(stage: StageRow) -> StageView:
    """A stage with its duration when finished."""
    duration = (
        (stage.finished_at - stage.started_at).total_seconds() if stage.started_at and stage.finished_at else None
    )
    return StageView(
        name=stage.name,
        status=stage.status,
        started_at=stage.started_at,
        finished_at=stage.finished_at,
        duration_s=duration,
        percent=round(stage.progress_percent, 1),
        eta_seconds=stage.eta_seconds if stage.status == "running" else None,
        cpu_seconds=stage.cpu_seconds,
        detail=stage.detail,
    )


def cost_view(job: JobRow, cpu_hour_price: float, currency: str) -> CostView:
    cpu = sum(s.cpu_seconds or 0.0 for s in job.stages)
    return CostView(cpu_seconds=round(cpu, 3), amount=cpu / 3600 * cpu_hour_price, currency=currency)


def job_view(job: JobRow, cpu_hour_price: float, currency: str, grafana_url: str | None = None) -> JobView:
    """The whole job as `GET /v1/jobs/{id}` shows it (with Grafana links when Grafana's URL is known)."""
    failure = (
        FailureView(stage=job.failure_stage, reason=job.failure_reason, category=job.failure_category)
        if job.failure_reason is not None
        else None
    )
    return JobView(
        job_id=job.id,
        status=job.status,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        duration_s=(job.finished_at - job.created_at).total_seconds() if job.finished_at else None,
        trace_id=job.trace_id,
        original_filename=job.original_filename,
        input_size_bytes=job.input_size,
        media_duration_s=job.media_duration_s,
        progress=ProgressView(percent=overall_percent(job), eta_seconds=eta_seconds(job)),
        stages=[stage_view(s) for s in job.stages],
        renditions=job.renditions,
        skipped_renditions=job.skipped_renditions or [],
        hls_master_key=job.hls_master_key,
        poster_key=job.poster_key,
        transcript=job.transcript,
        failure=failure,
        cost=cost_view(job, cpu_hour_price, currency),
        grafana=grafana_links(grafana_url, job.trace_id) if grafana_url and job.trace_id else None,
    )
