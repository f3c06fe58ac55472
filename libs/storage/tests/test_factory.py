"""open_storage builds the backend the settings name."""

from pathlib import Path

import pytest
from reelscope_storage import FilesystemStorage, S3Storage, StorageSettings, open_storage

pytestmark = pytest.mark.unit


def test_filesystem_by_default(tmp_path: Path) -> None:
    """Without a backend setting, storage is the filesystem directory the settings name."""
    storage = open_storage(StorageSettings(storage_dir=tmp_path / "store"))
    assert isinstance(storage, FilesystemStorage)
    assert storage.backend == "filesystem"
    assert storage.root == (tmp_path / "store").resolve()


def test_s3_when_asked(aws_credentials: None) -> None:
    """storage_backend=s3 gives an S3Storage on the named bucket, without contacting the endpoint."""
    storage = open_storage(
        StorageSettings(storage_backend="s3", s3_endpoint_url="http://127.0.0.1:9", s3_bucket="media")
    )
    assert isinstance(storage, S3Storage)
    assert (storage.backend, storage.bucket) == ("s3", "media")
    storage.close()


def test_s3_part_size_within_s3_limits() -> None:
    """A part size S3 would refuse (under 5 MiB) stops start-up instead of failing the first upload."""
    with pytest.raises(ValueError, match="s3_part_size_bytes"):
        StorageSettings(s3_part_size_bytes=1024 * 1024)
