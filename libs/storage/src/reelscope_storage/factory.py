"""Pick the backend the settings name."""

from reelscope_storage.base import Storage
from reelscope_storage.filesystem import FilesystemStorage
from reelscope_storage.settings import StorageSettings


def open_storage(settings: StorageSettings) -> Storage:
    """The configured backend, ready to use."""
    if settings.storage_backend == "s3":
        raise NotImplementedError("the S3 backend is not built yet")
    return FilesystemStorage(settings.storage_dir)
