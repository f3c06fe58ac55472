"""Reelscope storage: one interface over a shared filesystem or an S3-compatible object store."""

from reelscope_storage.base import CHUNK_SIZE, Storage
from reelscope_storage.errors import InvalidKey, ObjectNotFound, StorageError
from reelscope_storage.factory import open_storage
from reelscope_storage.filesystem import FilesystemStorage
from reelscope_storage.keys import validate_key, validate_prefix
from reelscope_storage.settings import StorageSettings

__all__ = [
    "CHUNK_SIZE",
    "FilesystemStorage",
    "InvalidKey",
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "StorageSettings",
    "open_storage",
    "validate_key",
    "validate_prefix",
]
