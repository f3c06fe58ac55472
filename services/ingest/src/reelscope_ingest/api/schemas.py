"""Response bodies of the public API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobAccepted(BaseModel):
    """Answer to a submission: where to look next, and which trace to open."""

    job_id: str
    trace_id: str | None
    status_url: str


class StageView(BaseModel):
    name: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    percent: float = Field(description="0 to 100")
    eta_seconds: float | None = Field(description="Estimate, while the stage runs")
    cpu_seconds: float | None
    detail: str | None


class ProgressView(BaseModel):
    """How far the whole job is; the ETA is an estimate from the pace so far."""

    percent: float
    eta_seconds: float | None


class FailureView(BaseModel):
    stage: str | None
    reason: str
    category: str | None


class CostView(BaseModel):
    """Compute cost estimate: CPU seconds of the media tools and recogniser times the configured price."""

    cpu_seconds: float
    amount: float
    currency: str


class GrafanaLinks(BaseModel):
    """Grafana Explore, opened on the job's trace and on its logs (when REELSCOPE_GRAFANA_URL is set)."""

    trace: str
    logs: str


class JobView(BaseModel):
    """Everything a user may know about a job."""

    job_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    trace_id: str | None
    original_filename: str
    input_size_bytes: int
    media_duration_s: float | None
    progress: ProgressView
    stages: list[StageView]
    renditions: list[dict[str, Any]]
    skipped_renditions: list[dict[str, Any]]
    hls_master_key: str | None
    poster_key: str | None
    transcript: dict[str, Any] | None
    failure: FailureView | None
    cost: CostView
    grafana: GrafanaLinks | None = None


class Problem(BaseModel):
    """Error body: a human-readable `detail`."""

    detail: str
