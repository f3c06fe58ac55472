"""Is a stored upload media we accept? Judged by its bytes, never by its file name or Content-Type.

Two steps. The first bytes must be one of the allowed containers' signatures: cheap, and it names what a wrong
upload is ("a PNG image") before any demuxer touches it. Then ffprobe, limited to local files and the allowed
demuxers, must parse it and find an audio or video stream. A rejection is `ContentRejected` (the client's
fault: 415); ffprobe missing or too slow is `ProbeUnavailable` (ours: 503).

A truncated file is rejected only when ffprobe cannot parse it (an MP4 cut before its index). One whose index
comes first still parses and is accepted here; the transcode stage's box walk fails that job with its reason.
"""

import asyncio
import contextlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from reelscope_ingest.api.content_magic import CONTAINER_NAMES, identify
from reelscope_ingest.core.config import MEDIA_CONTAINERS

MAX_PROBE_OUTPUT = 256 * 1024
MAX_STDERR = 16 * 1024
KILL_GRACE_S = 2.0
_DEMUXER_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\] ")


class ContentRejected(Exception):
    """The upload is not media we accept; `code` is stable, `reason` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ProbeUnavailable(Exception):
    """ffprobe could not give an answer (not installed, or past its time limit): a server-side problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MediaContent:
    """What the upload is: its container (an ffprobe demuxer name) and its kinds of streams."""

    container: str
    """The demuxer short name, e.g. `mov` for MP4/MOV/M4A/3GP, `matroska` for Matroska/WebM."""
    format_name: str
    """ffprobe's full format name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`."""
    stream_types: tuple[str, ...]
    """Each stream's codec type in order (`video`, `audio`, `subtitle`, `data`, …)."""


def sniff(path: Path, allowed: Collection[str] = MEDIA_CONTAINERS) -> str:
    """The container the upload's first bytes announce; `ContentRejected` unless it is one of `allowed`."""
    with path.open("rb") as handle:
        found = identify(handle)
    if found.container is None:
        raise ContentRejected(found.code, found.reason)
    if found.container not in allowed:
        raise ContentRejected(
            "container_not_allowed",
            f"the upload is {CONTAINER_NAMES[found.container]}, which is not accepted (accepted: {_names(allowed)})",
        )
    return found.container


async def check_upload(
    path: Path, *, allowed: Collection[str] = MEDIA_CONTAINERS, timeout_s: float = 30.0, ffprobe: str = "ffprobe"
) -> MediaContent:
    """Accept `path` as media of an allowed container, or raise `ContentRejected` / `ProbeUnavailable`."""
    sniff(path, allowed)
    argv = [
        ffprobe,
        "-hide_banner",
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        ",".join(allowed),
        "-show_entries",
        "format=format_name:stream=codec_type",
        "-of",
        "json",
        f"file:{path.resolve()}",
    ]
    returncode, stdout, stderr = await _run(argv, timeout_s)
    problem = stderr.decode("utf-8", errors="replace").replace(f"file:{path.resolve()}", "the upload").strip()
    if returncode != 0:
        if "Format not on whitelist" in problem:
            raise ContentRejected(
                "container_not_allowed", f"the upload's container is not accepted (accepted: {_names(allowed)})"
            )
        lines = [_DEMUXER_PREFIX.sub("", line).strip() for line in problem.splitlines()]
        told = "; ".join(dict.fromkeys(line for line in lines if line)) or f"exit status {returncode}"
        raise ContentRejected("unparseable", f"ffprobe could not parse it: {told[-400:]}")
    return _media(stdout, allowed)


def _media(stdout: bytes, allowed: Collection[str]) -> MediaContent:
    try:
        data = json.loads(stdout)
        format_name = str(data.get("format", {}).get("format_name", ""))
        types = tuple(str(s.get("codec_type", "unknown")) for s in data.get("streams", []))
    except (ValueError, AttributeError):
        raise ContentRejected("unparseable", "ffprobe could not parse it: its description was unreadable") from None
    container = format_name.split(",")[0]
    if container not in allowed:
        raise ContentRejected(
            "container_not_allowed",
            f"the upload's container ({format_name or 'unknown'}) is not accepted (accepted: {_names(allowed)})",
        )
    if not {"audio", "video"} & set(types):
        found = f"only {', '.join(sorted(set(types)))}" if types else "no streams at all"
        raise ContentRejected("no_media_streams", f"the upload has no audio or video stream ({found})")
    return MediaContent(container=container, format_name=format_name, stream_types=types)


async def _run(argv: list[str], timeout_s: float) -> tuple[int, bytes, bytes]:
    """Run without a shell; bounded output; killed and reaped past `timeout_s`."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError:
        raise ProbeUnavailable(f"{argv[0]} is not installed on this server; uploads cannot be checked") from None
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr, _ = await asyncio.gather(
                _bounded(process.stdout, MAX_PROBE_OUTPUT), _bounded(process.stderr, MAX_STDERR), process.wait()
            )
    except TimeoutError:
        raise ProbeUnavailable(f"ffprobe did not finish checking the upload within {timeout_s:g} s") from None
    finally:
        await _stop(process)
    if len(stdout) > MAX_PROBE_OUTPUT:
        raise ContentRejected("unparseable", "ffprobe could not parse it: its description is implausibly large")
    return process.returncode or 0, stdout, stderr[-MAX_STDERR:]


async def _bounded(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Up to `limit` + 1 bytes, the rest drained and dropped (the child never blocks on a full pipe)."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
    return bytes(kept)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(KILL_GRACE_S):
            await process.wait()


def _names(allowed: Collection[str]) -> str:
    return ", ".join(CONTAINER_NAMES[c].removeprefix("an ").removeprefix("a ") for c in allowed)
