"""Storage settings (env prefix `REELSCOPE_`); S3 credentials come from the standard AWS variables
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, or a pod's web identity), never from our own."""

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StorageSettings(BaseSettings):
    """Which backend holds media, and where local scratch files go."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    storage_backend: Literal["filesystem", "s3"] = Field(default="filesystem")
    storage_dir: Path = Field(default=Path("var/storage"), description="Root of the filesystem backend")
    scratch_dir: Path = Field(
        default=Path(tempfile.gettempdir()), description="Local temporary files (downloads from S3, staging)"
    )
    s3_endpoint_url: str | None = Field(default=None, description="e.g. http://minio:9000; unset for AWS")
    s3_bucket: str = Field(default="reelscope", min_length=3, max_length=63)
    s3_region: str = Field(default="us-east-1")
    s3_create_bucket: bool = Field(
        default=False, description="Create the bucket on first use when it is missing (local development)"
    )
    s3_part_size_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        le=5 * 1024 * 1024 * 1024,
        description="Multipart part size; files larger than this are uploaded in parts (S3's limits: 5 MiB-5 GiB)",
    )
    s3_connect_timeout_s: float = Field(default=3.0, gt=0, description="Bound on opening a connection to S3")
    s3_read_timeout_s: float = Field(default=30.0, gt=0, description="Bound on waiting for S3 to send data")
    s3_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Tries per S3 request, the first included (botocore standard retries)"
    )
