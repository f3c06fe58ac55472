"""One contract, every backend: the same tests run on the filesystem backend and on S3 against a real MinIO."""

import os
import socket
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path

import pytest
from reelscope_storage import InvalidKey, ObjectNotFound, S3Storage, Storage, StorageError

MakeS3Storage = Callable[..., S3Storage]
MiB = 1024 * 1024
BIG = 10 * MiB + 123_457  # three multipart parts at the 5 MiB part size conftest gives S3 backends


def content(size: int) -> bytes:
    """Bytes that differ at every offset modulo 251, so a shifted or dropped chunk cannot go unnoticed."""
    return bytes(i % 251 for i in range(size))


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


async def test_put_file_get_file_round_trip(storage: Storage, tmp_path: Path) -> None:
    """A file larger than one multipart part comes back byte for byte, and put_file returns its size."""
    data = content(BIG)
    source = write(tmp_path / "in" / "video.mp4", data)
    assert await storage.put_file("jobs/1/input.mp4", source) == len(data)
    assert source.exists()
    destination = tmp_path / "out.mp4"
    await storage.get_file("jobs/1/input.mp4", destination)
    assert destination.read_bytes() == data


async def test_put_file_replaces(storage: Storage, tmp_path: Path) -> None:
    """Storing under an existing key replaces the object."""
    await storage.put_file("jobs/1/a.txt", write(tmp_path / "first", b"first, longer"))
    await storage.put_file("jobs/1/a.txt", write(tmp_path / "second", b"second"))
    assert await storage.get_bytes("jobs/1/a.txt", 100) == b"second"


async def test_put_file_consume_removes_source(storage: Storage, tmp_path: Path) -> None:
    """With consume=True the source file is gone afterwards and the object holds its content."""
    source = write(tmp_path / "upload.part", b"uploaded")
    assert await storage.put_file("jobs/1/input.bin", source, consume=True) == 8
    assert not source.exists()
    assert await storage.get_bytes("jobs/1/input.bin", 8) == b"uploaded"


async def test_put_file_missing_source(storage: Storage, tmp_path: Path) -> None:
    """Storing a local file that does not exist raises ObjectNotFound and stores nothing."""
    with pytest.raises(ObjectNotFound):
        await storage.put_file("jobs/1/x", tmp_path / "absent")
    assert not await storage.exists("jobs/1/x")


async def test_put_bytes_get_bytes(storage: Storage) -> None:
    """Small objects round-trip whole, empty ones included."""
    await storage.put_bytes("jobs/1/transcript.txt", b"hello world\n")
    await storage.put_bytes("jobs/1/empty", b"")
    assert await storage.get_bytes("jobs/1/transcript.txt", 12) == b"hello world\n"
    assert await storage.get_bytes("jobs/1/empty", 0) == b""


async def test_get_bytes_over_limit(storage: Storage) -> None:
    """get_bytes refuses an object larger than max_bytes with a StorageError (not ObjectNotFound)."""
    await storage.put_bytes("jobs/1/big", b"x" * 100)
    with pytest.raises(StorageError, match="larger than 99 bytes") as caught:
        await storage.get_bytes("jobs/1/big", 99)
    assert not isinstance(caught.value, ObjectNotFound)


async def test_iter_bytes_streams_chunks(storage: Storage, tmp_path: Path) -> None:
    """iter_bytes yields chunks no bigger than asked whose concatenation is the object."""
    data = content(3 * 65536 + 10)
    await storage.put_file("jobs/1/video.mp4", write(tmp_path / "v", data))
    chunks = [chunk async for chunk in storage.iter_bytes("jobs/1/video.mp4", chunk_size=65536)]
    assert len(chunks) == 4
    assert all(len(chunk) <= 65536 for chunk in chunks)
    assert b"".join(chunks) == data


async def test_iter_bytes_can_stop_early(storage: Storage, tmp_path: Path) -> None:
    """A consumer that stops after the first chunk (a closed HTTP download) releases the stream cleanly."""
    await storage.put_file("jobs/1/video.mp4", write(tmp_path / "v", content(BIG)))
    stream = storage.iter_bytes("jobs/1/video.mp4", chunk_size=1024)
    assert isinstance(stream, AsyncGenerator)
    assert len(await anext(stream)) == 1024
    await stream.aclose()


async def test_local_file(storage: Storage, tmp_path: Path) -> None:
    """local_file yields a readable path with the object's name and content; an S3 copy is removed afterwards."""
    data = content(BIG)
    await storage.put_file("jobs/1/input.mp4", write(tmp_path / "in", data))
    async with storage.local_file("jobs/1/input.mp4") as path:
        assert path.name == "input.mp4"
        assert path.read_bytes() == data
    if storage.backend == "s3":
        assert not path.exists()
        assert list((tmp_path / "scratch").iterdir()) == []


async def test_output_dir_publishes_on_success(storage: Storage, tmp_path: Path) -> None:
    """Every file written into output_dir, nested ones too, is published under the prefix when the block ends."""
    async with storage.output_dir("jobs/1/outputs") as directory:
        write(directory / "360p.mp4", b"low")
        write(directory / "720p.mp4", content(BIG))
        write(directory / "transcript" / "en.vtt", b"WEBVTT\n")
        assert await storage.list_keys("jobs/1/outputs") == []  # nothing visible before the block ends
    assert await storage.list_keys("jobs/1/outputs") == [
        "jobs/1/outputs/360p.mp4",
        "jobs/1/outputs/720p.mp4",
        "jobs/1/outputs/transcript/en.vtt",
    ]
    assert await storage.get_bytes("jobs/1/outputs/transcript/en.vtt", 100) == b"WEBVTT\n"
    assert await storage.size("jobs/1/outputs/720p.mp4") == BIG
    assert not directory.exists()


async def test_output_dir_publishes_nothing_on_error(storage: Storage) -> None:
    """When the block raises, nothing is published, the error propagates and the local directory is removed."""
    used: list[Path] = []

    async def failing_stage() -> None:
        async with storage.output_dir("jobs/1/outputs") as directory:
            used.append(directory)
            write(directory / "360p.mp4", b"half")
            write(directory / "nested" / "x.txt", b"x")
            raise RuntimeError("ffmpeg failed")

    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        await failing_stage()
    assert await storage.list_keys("jobs/1") == []
    assert not used[0].exists()


async def test_output_dir_after_a_killed_attempt_publishes_only_the_new_outputs(storage: Storage) -> None:
    """A worker killed inside output_dir never ran its cleanup: the next attempt at the same prefix publishes its
    own files only, nothing the dead attempt half-wrote, and leaves no staging files behind."""
    killed = storage.output_dir("jobs/1/outputs")
    directory = await killed.__aenter__()  # never exited, as after SIGKILL
    write(directory / "partial-1080p.mp4", b"half")
    async with storage.output_dir("jobs/1/outputs") as again:
        write(again / "360p.mp4", b"low")
    assert await storage.list_keys("jobs/1/outputs") == ["jobs/1/outputs/360p.mp4"]
    assert again == directory
    assert not directory.exists()


async def test_output_dir_refuses_bad_file_names(storage: Storage) -> None:
    """A file whose name is not a valid key fails the publish with InvalidKey before any file is published."""

    async def stage_with_bad_name() -> None:
        async with storage.output_dir("jobs/1/outputs") as directory:
            write(directory / "a.txt", b"fine")
            write(directory / "b c.txt", b"space in the name")

    with pytest.raises(InvalidKey):
        await stage_with_bad_name()
    assert await storage.list_keys("jobs/1") == []


async def test_exists_and_size(storage: Storage) -> None:
    """exists tells stored keys from absent ones; size is the stored length."""
    await storage.put_bytes("jobs/1/a", b"12345")
    assert await storage.exists("jobs/1/a")
    assert not await storage.exists("jobs/1/b")
    assert not await storage.exists("jobs/1")  # a "directory" is not an object
    assert await storage.size("jobs/1/a") == 5


async def test_missing_objects_raise_object_not_found(storage: Storage, tmp_path: Path) -> None:
    """Every read of a missing key raises ObjectNotFound, and get_file leaves no destination file behind."""
    destination = tmp_path / "out"
    with pytest.raises(ObjectNotFound):
        await storage.get_file("jobs/1/missing", destination)
    assert not destination.exists()
    with pytest.raises(ObjectNotFound):
        await storage.get_bytes("jobs/1/missing", 10)
    with pytest.raises(ObjectNotFound):
        await storage.size("jobs/1/missing")
    with pytest.raises(ObjectNotFound):
        async with storage.local_file("jobs/1/missing"):
            pass
    with pytest.raises(ObjectNotFound):
        await anext(storage.iter_bytes("jobs/1/missing"))


async def test_list_keys_sorted_and_scoped(storage: Storage) -> None:
    """list_keys returns the keys under the prefix, sorted; a sibling sharing its first letters never leaks in."""
    for key in ("jobs/a/2", "jobs/a/1", "jobs/a/sub/3", "jobs/ab/1", "jobs/b", "other/a/1"):
        await storage.put_bytes(key, b".")
    assert await storage.list_keys("jobs/a") == ["jobs/a/1", "jobs/a/2", "jobs/a/sub/3"]
    assert await storage.list_keys("jobs/a/") == ["jobs/a/1", "jobs/a/2", "jobs/a/sub/3"]
    assert await storage.list_keys("jobs/none") == []


async def test_delete_prefix(storage: Storage) -> None:
    """delete_prefix removes exactly the objects under the prefix and returns how many."""
    for key in ("jobs/a/1", "jobs/a/sub/2", "jobs/ab/1", "jobs/b"):
        await storage.put_bytes(key, b".")
    assert await storage.delete_prefix("jobs/a") == 2
    assert await storage.list_keys("jobs") == ["jobs/ab/1", "jobs/b"]
    assert await storage.delete_prefix("jobs/a") == 0


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b", "a/../b", "a\\b", "..\\x", "", "a/", "a b"])
async def test_invalid_keys_are_refused(storage: Storage, key: str, tmp_path: Path) -> None:
    """Keys that could escape their namespace raise InvalidKey on writes, reads and listings alike."""
    with pytest.raises(InvalidKey):
        await storage.put_bytes(key, b"x")
    with pytest.raises(InvalidKey):
        await storage.put_file(key, write(tmp_path / "f", b"x"))
    with pytest.raises(InvalidKey):
        await storage.get_bytes(key, 10)
    with pytest.raises(InvalidKey):
        await storage.exists(key)
    with pytest.raises(InvalidKey):
        async with storage.local_file(key):
            pass
    with pytest.raises(InvalidKey):
        await anext(storage.iter_bytes(key))
    if not key.endswith("/"):  # `a/` is a fine prefix
        with pytest.raises(InvalidKey):
            await storage.list_keys(key)
        with pytest.raises(InvalidKey):
            await storage.delete_prefix(key)
        with pytest.raises(InvalidKey):
            async with storage.output_dir(key):
                pass


# S3 only: behaviour the filesystem backend has no counterpart for.


@pytest.mark.integration
async def test_s3_large_file_uploaded_in_parts(make_s3_storage: MakeS3Storage, tmp_path: Path) -> None:
    """A file larger than the part size is stored with a multipart upload (its ETag counts the parts)."""
    storage = make_s3_storage(s3_part_size_bytes=5 * MiB)
    await storage.put_file("jobs/1/big", write(tmp_path / "big", content(BIG)))
    head = storage._client.head_object(Bucket=storage.bucket, Key="jobs/1/big")
    assert head["ETag"].strip('"').endswith("-3")


@pytest.mark.integration
async def test_s3_unreachable_endpoint_fails_fast(make_s3_storage: MakeS3Storage) -> None:
    """With the default timeouts and retries, an endpoint nobody listens on raises StorageError within seconds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        storage = make_s3_storage(s3_endpoint_url=f"http://127.0.0.1:{sock.getsockname()[1]}", s3_create_bucket=False)
        started = time.monotonic()
        with pytest.raises(StorageError, match="unreachable") as caught:
            await storage.exists("jobs/1/a")
        assert time.monotonic() - started < 5
    assert not isinstance(caught.value, ObjectNotFound)
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in str(caught.value)


@pytest.mark.integration
async def test_s3_missing_bucket_is_a_storage_error(make_s3_storage: MakeS3Storage) -> None:
    """Without the bucket, reads raise StorageError saying so, never ObjectNotFound or a plain False."""
    storage = make_s3_storage(s3_create_bucket=False)
    with pytest.raises(StorageError, match="does not exist") as caught:
        await storage.exists("jobs/1/a")
    assert not isinstance(caught.value, ObjectNotFound)
    with pytest.raises(StorageError, match="does not exist") as caught:
        await storage.size("jobs/1/a")
    assert not isinstance(caught.value, ObjectNotFound)
    with pytest.raises(StorageError, match="does not exist"):
        await storage.get_bytes("jobs/1/a", 1)
    with pytest.raises(StorageError, match="does not exist"):
        await storage.put_bytes("jobs/1/a", b"x")
    with pytest.raises(StorageError, match="does not exist"):
        await storage.list_keys("jobs/1")


@pytest.mark.integration
async def test_s3_wrong_credentials_are_a_storage_error(make_s3_storage: MakeS3Storage) -> None:
    """Refused credentials raise StorageError saying access was denied, without the secret in the message."""
    storage = make_s3_storage(s3_create_bucket=False, secret_key="not-the-secret-at-all")
    with pytest.raises(StorageError, match="access denied") as caught:
        await storage.put_bytes("jobs/1/a", b"x")
    assert "not-the-secret-at-all" not in str(caught.value)
