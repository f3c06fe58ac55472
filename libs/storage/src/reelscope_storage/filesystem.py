"""The default backend: a directory, local or shared between pods (a ReadWriteMany volume).

Outputs are written into a staging directory on the same filesystem and moved into place with
`os.replace`, so readers never see a half-written file and a failed stage leaves nothing behind."""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from reelscope_storage.base import CHUNK_SIZE
from reelscope_storage.errors import ObjectNotFound, StorageError
from reelscope_storage.keys import staging_name, validate_key, validate_prefix

STAGING_DIR = ".staging"


class FilesystemStorage:
    """Objects are files under `root`; keys are their relative paths."""

    backend = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file that holds `key` (whether or not it exists)."""
        return self.root / validate_key(key)

    async def put_file(self, key: str, source: Path, *, consume: bool = False) -> int:
        target = self.path(key)
        return await asyncio.to_thread(self._put_file, source, target, consume)

    def _put_file(self, source: Path, target: Path, consume: bool) -> int:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            if consume:
                try:
                    os.replace(source, target)
                    return target.stat().st_size
                except OSError:
                    pass  # another filesystem: copy, then delete the source below
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
            if consume:
                source.unlink(missing_ok=True)
            return target.stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no local file {source}") from exc
        except OSError as exc:
            raise StorageError(f"could not store {target.name}: {exc.strerror or exc}") from exc
        finally:
            temporary.unlink(missing_ok=True)

    async def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(temporary.write_bytes, data)
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise StorageError(f"could not store {key}: {exc.strerror or exc}") from exc

    async def get_file(self, key: str, destination: Path) -> None:
        source = self.path(key)
        try:
            await asyncio.to_thread(shutil.copyfile, source, destination)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key}") from exc
        except OSError as exc:
            raise StorageError(f"could not read {key}: {exc.strerror or exc}") from exc

    async def get_bytes(self, key: str, max_bytes: int) -> bytes:
        if await self.size(key) > max_bytes:
            raise StorageError(f"object {key} is larger than {max_bytes} bytes")
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def iter_bytes(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(self.path(key).open, "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key}") from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    @asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise ObjectNotFound(f"no object {key}")
        yield path

    @asynccontextmanager
    async def output_dir(self, prefix: str) -> AsyncIterator[Path]:
        base = validate_prefix(prefix)
        staging = self.root / STAGING_DIR / staging_name(base)
        await asyncio.to_thread(shutil.rmtree, staging, True)
        staging.mkdir(parents=True)
        try:
            yield staging
            await asyncio.to_thread(self._publish, staging, self.root, base)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)

    @staticmethod
    def _publish(staging: Path, root: Path, base: str) -> None:
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        # Every key is checked before the first move, so a bad file name publishes nothing.
        keys = [validate_key(base + source.relative_to(staging).as_posix()) for source in files]
        for key, source in zip(keys, files, strict=True):
            destination = root / key
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    async def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key}") from exc

    async def list_keys(self, prefix: str) -> list[str]:
        base = self.root / validate_prefix(prefix).rstrip("/")
        if not base.is_dir():
            return []
        files = await asyncio.to_thread(lambda: [p for p in base.rglob("*") if p.is_file()])
        return sorted(p.relative_to(self.root).as_posix() for p in files if not p.name.endswith(".part"))

    async def delete_prefix(self, prefix: str) -> int:
        base = self.root / validate_prefix(prefix).rstrip("/")
        count = len(await self.list_keys(prefix))
        await asyncio.to_thread(shutil.rmtree, base, True)
        return count
