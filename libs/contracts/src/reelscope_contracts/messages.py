"""Pydantic models of every message on the exchange; the routing key says which model a body holds."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from reelscope_contracts.topology import RoutingKey


class StageName(StrEnum):
    """The stages a job passes through after ingest."""

    TRANSCODE = "transcode"
    TRANSCRIPTION = "transcription"
    NOTIFICATION = "notification"


class FailureCategory(StrEnum):
    """Why a job failed, as a small fixed set (a metric label); the free-text reason says the rest."""

    INVALID_INPUT = "invalid_input"
    """Empty, truncated, corrupt or not a media file at all."""
    UNSUPPORTED_MEDIA = "unsupported_media"
    """A real file we do not process (a still image, no audio and no video)."""
    TIMEOUT = "timeout"
    """A media tool ran past its wall-clock limit."""
    PROCESSING_ERROR = "processing_error"
    """ffmpeg or the recogniser failed on an input that probed fine."""
    STORAGE_ERROR = "storage_error"
    """Storage refused a read or write."""
    MALFORMED_MESSAGE = "malformed_message"
    """A message that does not match its contract."""
    INTERNAL_ERROR = "internal_error"
    """A bug: an exception nobody expected."""
    STUCK = "stuck"
    """No event for longer than the deadline: the stage's worker may have died (the stuck-job detector)."""


def _now() -> datetime:
    return datetime.now(UTC)


SCHEMA_VERSION: Final = 1
"""The message schema this code reads and writes; a consumer parks a message of any other version."""


class JobOwner(BaseModel):
    """Who submitted the job (an API key of a tenant) and how they want to hear of its end.

    Copied from message to message like `webhook_url`, so notification needs no database. It holds no secret:
    a key's webhook signing secrets are derived from the service's master secret, the key id and a generation
    number (rotation bumps the generation; the previous one stays valid until the rotation is finished)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(min_length=1, max_length=64)
    key_id: str = Field(min_length=1, max_length=64)
    signing_generations: tuple[int, ...] = Field(default=(1,), min_length=1, max_length=2)
    """Generations of the key's signing secret valid now, current first."""
    slack_webhook_url: str | None = None
    """A Slack incoming-webhook URL set on the key; None means the service's default, if any."""
    email_to: str | None = None
    """Where to email the outcome; None means the service's default recipient, if any."""


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    job_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    occurred_at: datetime = Field(default_factory=_now)


class JobSubmitted(_Message):
    """Ingest stored an upload; transcode should start. `input_key` is a storage key (see `JobKeys`)."""

    kind: Literal["job.submitted"] = "job.submitted"
    input_key: str
    original_filename: str
    input_size_bytes: int = Field(ge=0)
    hls: bool | None = None
    """Also package HLS; `None` means the transcode service's default."""
    webhook_url: str | None = None
    owner: JobOwner | None = None


class StageStarted(_Message):
    """A worker began a stage; ingest records the start time."""

    kind: Literal["job.stage.started"] = "job.stage.started"
    stage: StageName


class StageProgress(_Message):
    """How far a running stage is (throttled to about one per second per job). Untraced on purpose:
    hundreds of progress hops per job would bury the trace; the stage's own span carries the story."""

    kind: Literal["job.progress"] = "job.progress"
    stage: StageName
    percent: float = Field(ge=0, le=100)
    eta_seconds: float | None = Field(default=None, ge=0)


class Rendition(BaseModel):
    """One output video of the ladder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    width: int
    height: int
    key: str
    size_bytes: int
    bitrate_bps: int | None = None
    hls_playlist_key: str | None = None


class SkippedRendition(BaseModel):
    """A ladder rung not produced, and why (e.g. it would upscale the source)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    reason: str


class JobTranscoded(_Message):
    """Transcode finished: renditions (none for audio-only input), and a 16 kHz mono WAV when the input had sound."""

    kind: Literal["job.transcoded"] = "job.transcoded"
    renditions: tuple[Rendition, ...]
    skipped_renditions: tuple[SkippedRendition, ...] = ()
    hls_master_key: str | None = None
    poster_key: str | None = None
    audio_key: str | None
    duration_seconds: float
    cpu_seconds: float = Field(default=0.0, ge=0)
    webhook_url: str | None = None
    owner: JobOwner | None = None


class TranscriptInfo(BaseModel):
    """Where the transcript is and what it says (`text` is cut at 4000 characters; the files hold it all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    text_truncated: bool = False
    language: str
    engine: str
    word_count: int
    text_key: str
    vtt_key: str
    srt_key: str


class JobCompleted(_Message):
    """The last processing stage finished; the job is done."""

    kind: Literal["job.completed"] = "job.completed"
    transcript: TranscriptInfo | None
    transcription_skipped_reason: str | None = None
    cpu_seconds: float = Field(default=0.0, ge=0)
    webhook_url: str | None = None
    owner: JobOwner | None = None


class JobFailed(_Message):
    """A stage failed permanently; `reason` is meant for humans, `category` for dashboards."""

    kind: Literal["job.failed"] = "job.failed"
    stage: StageName
    reason: str
    category: FailureCategory = FailureCategory.INTERNAL_ERROR
    webhook_url: str | None = None
    owner: JobOwner | None = None


class JobCancelled(_Message):
    """The client cancelled the job (ingest publishes this once): workers stop it, notification tells the owner."""

    kind: Literal["job.cancelled"] = "job.cancelled"
    stage: StageName | None
    """The stage that was running when the cancel arrived, if any."""
    reason: str = "cancelled by the client"
    webhook_url: str | None = None
    owner: JobOwner | None = None


class JobNotified(_Message):
    """Notification tried to tell the job's owner; `delivered` says whether it worked."""

    kind: Literal["job.notified"] = "job.notified"
    delivered: bool
    skipped: bool = False
    detail: str


JobEvent = Annotated[
    JobSubmitted | StageStarted | StageProgress | JobTranscoded | JobCompleted | JobFailed | JobCancelled | JobNotified,
    Field(discriminator="kind"),
]
JOB_EVENT_ADAPTER: TypeAdapter[JobEvent] = TypeAdapter(JobEvent)

ROUTING_KEYS: dict[type[BaseModel], RoutingKey] = {
    JobSubmitted: RoutingKey.SUBMITTED,
    StageStarted: RoutingKey.STAGE_STARTED,
    StageProgress: RoutingKey.PROGRESS,
    JobTranscoded: RoutingKey.TRANSCODED,
    JobCompleted: RoutingKey.COMPLETED,
    JobFailed: RoutingKey.FAILED,
    JobCancelled: RoutingKey.CANCELLED,
    JobNotified: RoutingKey.NOTIFIED,
}
