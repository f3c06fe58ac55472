"""The one storage interface every service uses; media tools need local files, so the interface
hands out local paths (direct on a shared filesystem, temporary copies for object stores) and
publishes whole output directories at once, so a failed or cancelled stage leaves nothing half-written."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

CHUNK_SIZE = 1024 * 1024


class Storage(Protocol):
    """Objects addressed by key (`jobs/<job_id>/...`). All methods stream: none reads a whole file into memory."""

    backend: str
    """`filesystem` or `s3`, for span attributes and logs."""

    async def put_file(self, key: str, source: Path, *, consume: bool = False) -> int:
        """Store the local file `source` under `key` (replacing it); returns its size.
        With `consume=True` the source file is moved or deleted afterwards."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object (a marker, a transcript)."""
        ...

    async def get_file(self, key: str, destination: Path) -> None:
        """Copy the object to the local file `destination`. Raises `ObjectNotFound`."""
        ...

    async def get_bytes(self, key: str, max_bytes: int) -> bytes:
        """Read a small object whole; raises `StorageError` when it is larger than `max_bytes`."""
        ...

    def iter_bytes(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Stream an object in chunks (for HTTP downloads). Raises `ObjectNotFound` on first iteration."""
        ...

    def local_file(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A readable local path for `key` for the duration of the block (ffmpeg, the recogniser)."""
        ...

    def output_dir(self, prefix: str) -> AbstractAsyncContextManager[Path]:
        """A local directory to write outputs into; when the block exits normally every file in it is
        published under `prefix` (replacing what was there); when it raises, nothing is published."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    async def size(self, key: str) -> int:
        """The object's size in bytes. Raises `ObjectNotFound`."""
        ...

    async def list_keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many were deleted."""
        ...
