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


class ValidationIssue(BaseModel):
    """One reason a request failed validation (the offending value is never echoed: it may be a secret)."""

    loc: list[str | int] = Field(description="Where: `path`, `query`, `header` or `body`, then the field")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. `string_pattern_mismatch`")


class Problem(BaseModel):
    """Every error body (RFC 9457 problem details, `application/problem+json`); branch on `code`, show `detail`.

    See docs/api-errors.md for the codes."""

    type: str = Field(description="`https://reelscope.dev/problems/<code>`: identifies the kind of problem")
    title: str = Field(description="Short summary of the kind of problem (the same for every occurrence)")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str = Field(description="What went wrong in this request, for humans")
    instance: str = Field(description="The request path")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Stable machine-readable code")
    request_id: str = Field(description="The request's X-Request-ID: quote it when reporting a problem")
    errors: list[ValidationIssue] | None = Field(default=None, description="With `validation_error`: each issue")


class Readiness(BaseModel):
    """What /readyz answers, 200 when ready and 503 otherwise (a probe report, not a problem)."""

    status: str = Field(description="`ready`, `not ready` or `stopping`")
    checks: dict[str, str] | None = Field(default=None, description="Each dependency: `ok` or why not")
