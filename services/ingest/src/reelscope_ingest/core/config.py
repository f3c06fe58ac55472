"""Ingest settings, from `REELSCOPE_*` env vars; bad values refuse to start."""

from pathlib import Path

from pydantic import Field
from reelscope_messaging import BrokerSettings


class IngestSettings(BrokerSettings):
    """HTTP listener, storage, database and upload limits."""

    host: str = Field(default="127.0.0.1")
    port: int = Field(default=8080, ge=1, le=65535)
    storage_dir: Path = Field(default=Path("var/storage"))
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/reelscope.db",
        description="SQLAlchemy async URL; e.g. postgresql+asyncpg://user:pass@host/db",
    )
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024, description="Largest accepted upload")
    prefetch: int = Field(default=20, ge=1, le=1000)
    shutdown_timeout_s: float = Field(default=5.0, gt=0)
