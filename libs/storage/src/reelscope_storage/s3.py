"""The production backend: any S3-compatible object store (AWS S3, MinIO, Ceph, ...).

Built on boto3 rather than aioboto3/aiobotocore: boto3 is AWS's own SDK, released in step with the
service, and its managed transfers (s3transfer) already do what media needs, parallel multipart uploads
from a local file and downloads into one, with retries per part; it also has complete type stubs.
aiobotocore pins exact botocore versions and has no managed file transfers. boto3 blocks, so every call
runs in `asyncio.to_thread`; workers handle one job at a time, so a thread per call costs nothing.

S3 has no rename, so `output_dir` uploads each file in turn: readers never see a half-written object,
but a publish that fails midway can leave some of the outputs (the stage fails and its retry replaces them)."""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from reelscope_storage._s3errors import NO_BUCKET, NOT_FOUND, S3_ERRORS, error_code, storage_error
from reelscope_storage.base import CHUNK_SIZE
from reelscope_storage.errors import ObjectNotFound, StorageError
from reelscope_storage.keys import staging_name, validate_key, validate_prefix
from reelscope_storage.settings import StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

P = ParamSpec("P")
T = TypeVar("T")
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys per request


class S3Storage:
    """Objects in one bucket, keys as object keys; credentials from the standard AWS chain (env, files, roles)."""

    backend = "s3"

    def __init__(self, settings: StorageSettings) -> None:
        self.bucket = settings.s3_bucket
        self.region = settings.s3_region
        self.scratch_dir = settings.scratch_dir
        self._bucket_checked = not settings.s3_create_bucket
        self._bucket_lock = asyncio.Lock()
        config = Config(
            region_name=settings.s3_region,
            connect_timeout=settings.s3_connect_timeout_s,
            read_timeout=settings.s3_read_timeout_s,
            retries={"mode": "standard", "max_attempts": settings.s3_max_attempts},
            # Self-hosted servers answer on one host name; on AWS botocore picks virtual-hosted style.
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
        )
        self._client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=settings.s3_endpoint_url, config=config
        )
        self._transfer = TransferConfig(
            multipart_threshold=settings.s3_part_size_bytes, multipart_chunksize=settings.s3_part_size_bytes
        )

    def close(self) -> None:
        """Close the client's pooled connections."""
        self._client.close()

    async def put_file(self, key: str, source: Path, *, consume: bool = False) -> int:
        validate_key(key)
        try:
            size = source.stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no local file {source}") from exc
        await self._call("upload", key, self._client.upload_file, str(source), self.bucket, key, Config=self._transfer)
        if consume:
            source.unlink(missing_ok=True)
        return size

    async def put_bytes(self, key: str, data: bytes) -> None:
        validate_key(key)
        await self._call("store", key, self._client.put_object, Bucket=self.bucket, Key=key, Body=data)

    async def get_file(self, key: str, destination: Path) -> None:
        validate_key(key)
        await self._call(
            "download", key, self._client.download_file, self.bucket, key, str(destination), Config=self._transfer
        )

    async def get_bytes(self, key: str, max_bytes: int) -> bytes:
        if await self.size(key) > max_bytes:
            raise StorageError(f"object {key} is larger than {max_bytes} bytes")
        response = await self._call("read", key, self._client.get_object, Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            data = await self._call("read", key, body.read, max_bytes + 1)  # bounded even if it grew since
        finally:
            body.close()
        if len(data) > max_bytes:
            raise StorageError(f"object {key} is larger than {max_bytes} bytes")
        return data

    async def iter_bytes(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        validate_key(key)
        response = await self._call("read", key, self._client.get_object, Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            while chunk := await self._call("read", key, body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    @asynccontextmanager
    async def local_file(self, key: str) -> AsyncIterator[Path]:
        validate_key(key)
        directory = await self._scratch_dir()
        try:
            path = directory / key.rsplit("/", 1)[-1]  # the object's own name: tools read its extension
            await self.get_file(key, path)
            yield path
        finally:
            await asyncio.to_thread(shutil.rmtree, directory, True)

    @asynccontextmanager
    async def output_dir(self, prefix: str) -> AsyncIterator[Path]:
        base = validate_prefix(prefix)
        staging = self.scratch_dir / staging_name(base)
        await asyncio.to_thread(shutil.rmtree, staging, True)  # what a killed attempt left
        staging.mkdir(parents=True)
        try:
            yield staging
            files = await asyncio.to_thread(lambda: sorted(p for p in staging.rglob("*") if p.is_file()))
            # Every key is checked before the first upload, so a bad file name publishes nothing.
            keys = [validate_key(base + path.relative_to(staging).as_posix()) for path in files]
            for key, path in zip(keys, files, strict=True):
                await self.put_file(key, path)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except ObjectNotFound:
            return False
        return True

    async def size(self, key: str) -> int:
        validate_key(key)
        response = await self._call("read", key, self._client.head_object, Bucket=self.bucket, Key=key)
        return response["ContentLength"]

    async def list_keys(self, prefix: str) -> list[str]:
        return sorted(await self._call("list", prefix, self._list, validate_prefix(prefix)))

    def _list(self, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.list_keys(prefix)
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = await self._call(
                "delete",
                prefix,
                self._client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            if errors := response.get("Errors", []):
                first = errors[0]
                raise StorageError(
                    f"could not delete {len(errors)} objects under {prefix} in bucket {self.bucket!r}: "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                )
        return len(keys)

    async def _scratch_dir(self) -> Path:
        """A new private directory under `scratch_dir`, for downloads and staged outputs."""
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="reelscope-s3-", dir=self.scratch_dir))

    async def _call(
        self, action: str, subject: str, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run one blocking boto3 call in a thread, with its errors in our terms."""
        await self._ensure_bucket()
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except S3_ERRORS as exc:
            error = storage_error(exc, action, subject, self.bucket)
            if isinstance(error, ObjectNotFound):
                # A HEAD answers a bare 404 for a missing bucket too: tell the two apart.
                await self._check_bucket(action, subject)
            raise error from exc

    async def _check_bucket(self, action: str, subject: str) -> None:
        """Raise `StorageError` unless the bucket exists and these credentials may use it."""
        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except S3_ERRORS as exc:
            if error_code(exc) in NOT_FOUND | NO_BUCKET:
                raise StorageError(f"could not {action} {subject}: bucket {self.bucket!r} does not exist") from exc
            raise storage_error(exc, action, subject, self.bucket) from exc

    async def _ensure_bucket(self) -> None:
        """With `s3_create_bucket`, create the bucket once, on first use, when it is missing."""
        if self._bucket_checked:
            return
        async with self._bucket_lock:
            if not self._bucket_checked:
                try:
                    await self._check_bucket("open", "the store")
                except StorageError as exc:
                    if error_code(exc) not in NOT_FOUND | NO_BUCKET:
                        raise
                    await self._make_bucket()
                self._bucket_checked = True

    async def _make_bucket(self) -> None:
        try:
            if self.region == "us-east-1":  # the one region that refuses a location constraint
                await asyncio.to_thread(self._client.create_bucket, Bucket=self.bucket)
            else:
                await asyncio.to_thread(
                    self._client.create_bucket,
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": cast("BucketLocationConstraintType", self.region)},
                )
        except S3_ERRORS as exc:
            if error_code(exc) not in {"BucketAlreadyOwnedByYou"}:
                raise storage_error(exc, "create", "the bucket", self.bucket) from exc
