"""Reelscope storage: one interface over a shared filesystem or an S3-compatible object store."""

from typing import TYPE_CHECKING

from reelscope_storage.base import CHUNK_SIZE, Storage
from reelscope_storage.errors import InvalidKey, ObjectNotFound, StorageError
from reelscope_storage.factory import open_storage
from reelscope_storage.filesystem import FilesystemStorage
from reelscope_storage.keys import validate_key, validate_prefix
from reelscope_storage.settings import StorageSettings

if TYPE_CHECKING:
    from reelscope_storage.s3 import S3Storage

__all__ = [
    "CHUNK_SIZE",
    "FilesystemStorage",
    "InvalidKey",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "StorageSettings",
    "open_storage",
    "validate_key",
    "validate_prefix",
]


def __getattr__(name: str) -> object:
    """`S3Storage` is imported on first use, so the filesystem backend never pays for importing boto3."""
    if name == "S3Storage":
        from reelscope_storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
