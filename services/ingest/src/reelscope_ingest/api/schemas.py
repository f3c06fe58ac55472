"""Response bodies of the public API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


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
    detail: str | None


class FailureView(BaseModel):
    stage: str | None
    reason: str


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
    stages: list[StageView]
    renditions: list[dict[str, Any]]
    transcript: dict[str, Any] | None
    failure: FailureView | None


class Problem(BaseModel):
    """Error body: a human-readable `detail`."""

    detail: str
