"""Ingest settings, from `REELSCOPE_*` env vars; bad values refuse to start."""

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from reelscope_messaging import BrokerSettings, ShutdownSettings
from reelscope_messaging.profiling import ProfilingSettings
from reelscope_outbound import OutboundSettings
from reelscope_storage import StorageSettings

from reelscope_ingest.core.http_config import HttpSettings

MIN_PEPPER_CHARS = 32


class DatabaseSettings(BaseSettings):
    """Where job state lives and who migrates its schema; all `python -m reelscope_ingest.migrate` reads."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/reelscope.db",
        description="SQLAlchemy async URL; e.g. postgresql+asyncpg://user:pass@host/db",
    )
    database_migrate_on_start: bool = Field(
        default=True,
        description=(
            "Upgrade the schema to this release's head at start-up. When false (the Helm chart, whose Job runs "
            "`python -m reelscope_ingest.migrate`), ingest only checks it and refuses to start behind head"
        ),
    )


class ApiKeySettings(BaseSettings):
    """The pepper of the stored API key hashes: a secret of at least 32 characters, in the env or a file."""

    # A validation error would otherwise echo its input, the pepper included.
    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore", hide_input_in_errors=True)

    api_key_pepper: SecretStr | None = Field(
        default=None, description="HMAC key of the stored API key hashes; changing it invalidates every key"
    )
    api_key_pepper_file: Path | None = Field(default=None, description="A file holding the pepper (a secret mount)")
    api_keys_file: Path | None = Field(
        default=None,
        description=(
            "Keys the operator declares (a JSON list of {name, tenant, scopes, key}, e.g. a Kubernetes secret): "
            "ingest makes sure each exists at start-up"
        ),
    )

    @model_validator(mode="after")
    def _require_pepper(self) -> Self:
        if self.api_key_pepper is None and self.api_key_pepper_file is not None:
            try:
                self.api_key_pepper = SecretStr(self.api_key_pepper_file.read_text().strip())
            except OSError as exc:
                raise ValueError(f"cannot read REELSCOPE_API_KEY_PEPPER_FILE: {exc}") from None
        if self.api_key_pepper is None:
            raise ValueError("no API key pepper: set REELSCOPE_API_KEY_PEPPER or REELSCOPE_API_KEY_PEPPER_FILE")
        if len(self.api_key_pepper.get_secret_value()) < MIN_PEPPER_CHARS:
            raise ValueError(f"the API key pepper is shorter than {MIN_PEPPER_CHARS} characters")
        return self

    @property
    def pepper(self) -> SecretStr:
        assert self.api_key_pepper is not None  # the validator made sure
        return self.api_key_pepper


class QuotaSettings(BaseSettings):
    """Per-key limits applied when a key sets none of its own."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    submissions_per_minute: int = Field(default=60, ge=1, description="Jobs one key may submit per rolling minute")
    max_concurrent_jobs: int = Field(default=20, ge=1, description="Unfinished jobs one key may have at once")
    storage_quota_bytes: int = Field(
        default=50 * 1024**3, ge=1024, description="Stored bytes (uploads and renditions) one key's jobs may hold"
    )


MEDIA_CONTAINERS: tuple[str, ...] = (
    "mov",  # MP4, MOV, M4A, 3GP
    "matroska",  # Matroska, WebM
    "avi",
    "mpegts",
    "mpeg",  # MPEG program stream
    "flv",
    "asf",  # WMV, WMA
    "ogg",
    "wav",
    "w64",
    "aiff",
    "mp3",
    "aac",  # ADTS
    "flac",
)
"""ffprobe demuxer names the upload content check knows: transcode's ALLOWED_DEMUXERS, so ingest never accepts a
container transcode refuses (services/ingest/tests/test_content_check.py compares the two)."""


class ContentCheckSettings(BaseSettings):
    """Which containers an upload may be (judged by its bytes) and how long ffprobe may take to confirm it."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    allowed_containers: list[str] = Field(
        default_factory=lambda: list(MEDIA_CONTAINERS),
        min_length=1,
        description='ffprobe demuxer names an upload may be, e.g. ["mov","matroska"]; a subset of MEDIA_CONTAINERS',
    )
    probe_timeout_s: float = Field(default=30.0, gt=0, le=600, description="Longest the upload's ffprobe may run")

    @field_validator("allowed_containers")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(MEDIA_CONTAINERS))
        if unknown:
            raise ValueError(f"unknown container(s) {unknown}; known: {', '.join(MEDIA_CONTAINERS)}")
        return value


class IngestSettings(
    BrokerSettings,
    StorageSettings,
    ShutdownSettings,
    DatabaseSettings,
    OutboundSettings,
    ApiKeySettings,
    QuotaSettings,
    ContentCheckSettings,
    HttpSettings,
    ProfilingSettings,
):
    """HTTP listener, storage, database, upload limits, the price used for cost estimates and the
    stuck-job deadline."""

    host: str = Field(default="127.0.0.1")
    port: int = Field(default=8080, ge=1, le=65535)
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024, description="Largest accepted upload")
    source_download_timeout_s: float = Field(
        default=300.0, gt=0, le=3600, description="Longest a job's source_url download may take, redirects included"
    )
    prefetch: int = Field(default=20, ge=1, le=1000)
    cpu_hour_price: float = Field(default=0.05, ge=0, description="Price of one CPU hour, for job cost estimates")
    cost_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of cpu_hour_price")
    grafana_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        validation_alias=AliasChoices("REELSCOPE_GRAFANA_URL", "GRAFANA_URL"),
        description="Grafana's external URL: job views then link to the job's trace and logs in Explore",
    )
    stuck_check_interval_s: float = Field(
        default=60.0, gt=0, description="How often the stuck-job detector looks for jobs nothing happened to"
    )
    stuck_job_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "A job with a stage running but no stage event or progress for this long is failed as stuck: its "
            "worker may have died or hung (jobs waiting in a queue are never failed as stuck)"
        ),
    )
