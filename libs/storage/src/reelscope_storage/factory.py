"""Pick the backend the settings name."""

from reelscope_storage.base import Storage
from reelscope_storage.filesystem import FilesystemStorage
from reelscope_storage.settings import StorageSettings


def open_storage(settings: StorageSettings) -> Storage:
    """The configured backend, ready to use."""
    if settings.storage_backend == "s3":
        from reelscope_storage.s3 import S3Storage  # boto3 takes a while to import: only when asked for

        return S3Storage(settings)
    return FilesystemStorage(settings.storage_dir)
