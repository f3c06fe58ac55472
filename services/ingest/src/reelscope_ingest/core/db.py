"""Job state tables (SQLAlchemy 2.0): one row per job, one row per job stage. The database schema is made and
changed by the Alembic migrations in `reelscope_ingest/migrations` (see `core.schema`), never by `create_all`:
a model change needs a migration, which tests/test_migrations.py checks."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    original_filename: Mapped[str] = mapped_column(String(255))
    input_key: Mapped[str] = mapped_column(String(512))
    input_size: Mapped[int] = mapped_column(BigInteger)
    hls: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    media_duration_s: Mapped[float | None] = mapped_column(nullable=True)
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    skipped_renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    hls_master_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    poster_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    transcript: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    failure_stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancel_announced: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether `job.cancelled` reached the broker (a repeated DELETE retries it when not)."""
    tenant: Mapped[str] = mapped_column(String(64), index=True, server_default="default")
    """Whose job it is: only keys of this tenant see it (jobs made before API keys belong to `default`)."""
    key_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    """The API key that submitted it (rate limits and concurrency are counted per key)."""
    owner: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The submitting key's `JobOwner` as it was at submission (who hears of a cancel or a stuck-job failure)."""
    output_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Bytes of its renditions (with `input_size`, what the storage quota counts; HLS segments and transcripts,
    small beside them, are not counted)."""

    stages: Mapped[list["StageRow"]] = relationship(
        back_populates="job", cascade="all, delete-orphan", lazy="selectin", order_by="StageRow.position"
    )


class StageRow(Base):
    __tablename__ = "job_stages"
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress_percent: Mapped[float] = mapped_column(default=0.0)
    eta_seconds: Mapped[float | None] = mapped_column(nullable=True)
    cpu_seconds: Mapped[float | None] = mapped_column(nullable=True)

    job: Mapped[JobRow] = relationship(back_populates="stages")


class ApiKeyRow(Base):
    """An API key: its keyed hash (never the key), its scopes, its tenant and its limits and notification targets.

    `id` is the visible part of the key (`rsk_<id>_<secret>`), so a key is found by index and then compared by
    hash in constant time. Limits left empty use the service's defaults."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    signing_generations: Mapped[list[int]] = mapped_column(JSON)
    """Generations of the key's webhook signing secret valid now, current first (two during a rotation)."""
    slack_webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    email_to: Mapped[str | None] = mapped_column(String(320), nullable=True)
    submissions_per_minute: Mapped[int | None] = mapped_column(nullable=True)
    max_concurrent_jobs: Mapped[int | None] = mapped_column(nullable=True)
    storage_quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    """WAL with `synchronous=NORMAL`: a commit no longer waits for an fsync of a rollback journal (1.6 ms -> 0.03 ms
    per commit on our 2-core VM), readers never block the writer, and a process crash still loses nothing (a power
    loss may lose the last commits). WAL needs a local filesystem (not NFS): keep the SQLite file on a local volume."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An async engine. SQLite waits on locks instead of failing (two writers: API and event consumer), runs in WAL
    mode, and skips the pool's pre-ping (a file cannot drop a connection; the ping was a thread hop per checkout)."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_pre_ping=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
