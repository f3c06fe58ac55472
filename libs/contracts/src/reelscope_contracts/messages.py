"""Pydantic models of every message on the exchange; the routing key says which model a body holds."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from reelscope_contracts.topology import RoutingKey


class StageName(StrEnum):
    """The stages a job passes through after ingest."""

    TRANSCODE = "transcode"
    TRANSCRIPTION = "transcription"
    NOTIFICATION = "notification"


def _now() -> datetime:
    return datetime.now(UTC)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    occurred_at: datetime = Field(default_factory=_now)


class JobSubmitted(_Message):
    """Ingest stored an upload; transcode should start. Paths are relative to the shared storage root."""

    kind: Literal["job.submitted"] = "job.submitted"
    input_path: str
    original_filename: str
    webhook_url: str | None = None


class StageStarted(_Message):
    """A worker began a stage; ingest records the start time."""

    kind: Literal["job.stage.started"] = "job.stage.started"
    stage: StageName


class Rendition(BaseModel):
    """One output video of the ladder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    width: int
    height: int
    path: str
    size_bytes: int


class JobTranscoded(_Message):
    """Transcode finished: renditions exist and, when the input had sound, a 16 kHz mono WAV."""

    kind: Literal["job.transcoded"] = "job.transcoded"
    renditions: tuple[Rendition, ...]
    audio_path: str | None
    duration_seconds: float
    webhook_url: str | None = None


class TranscriptInfo(BaseModel):
    """Where the transcript is and what it says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    text_path: str
    vtt_path: str
    word_count: int


class JobCompleted(_Message):
    """The last processing stage finished; the job is done."""

    kind: Literal["job.completed"] = "job.completed"
    transcript: TranscriptInfo | None
    transcription_skipped_reason: str | None = None
    webhook_url: str | None = None


class JobFailed(_Message):
    """A stage failed permanently; `reason` is meant for humans."""

    kind: Literal["job.failed"] = "job.failed"
    stage: StageName
    reason: str
    webhook_url: str | None = None


class JobNotified(_Message):
    """Notification tried to tell the job's owner; `delivered` says whether it worked."""

    kind: Literal["job.notified"] = "job.notified"
    delivered: bool
    skipped: bool = False
    detail: str


JobEvent = Annotated[
    JobSubmitted | StageStarted | JobTranscoded | JobCompleted | JobFailed | JobNotified,
    Field(discriminator="kind"),
]
JOB_EVENT_ADAPTER: TypeAdapter[JobEvent] = TypeAdapter(JobEvent)

ROUTING_KEYS: dict[type[BaseModel], RoutingKey] = {
    JobSubmitted: RoutingKey.SUBMITTED,
    StageStarted: RoutingKey.STAGE_STARTED,
    JobTranscoded: RoutingKey.TRANSCODED,
    JobCompleted: RoutingKey.COMPLETED,
    JobFailed: RoutingKey.FAILED,
    JobNotified: RoutingKey.NOTIFIED,
}
