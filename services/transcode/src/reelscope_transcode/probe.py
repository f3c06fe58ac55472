"""ffprobe: decide whether an upload is a decodable video before spending time on it."""

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelscope_messaging import StageFailed


@dataclass(frozen=True)
class MediaInfo:
    """What we need to know about an input to plan its renditions."""

    duration_seconds: float
    width: int
    height: int
    video_codec: str
    has_audio: bool


async def run_tool(args: list[str], timeout_s: float) -> tuple[int, bytes, bytes]:
    """Run a media tool without blocking the event loop; kill it when it overruns `timeout_s`."""
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise StageFailed(f"{Path(args[0]).name} took longer than {timeout_s:.0f} s and was stopped") from None
    assert process.returncode is not None
    return process.returncode, stdout, stderr


def last_error_line(stderr: bytes) -> str:
    """The most telling line of a tool's stderr, for a human-readable reason."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no error output"


def _parse(data: dict[str, Any]) -> MediaInfo:
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video" and s.get("width")), None)
    if video is None:
        raise StageFailed("input has no video stream: upload a video file (audio-only files are not supported yet)")
    duration = float(data.get("format", {}).get("duration") or video.get("duration") or 0.0)
    if duration <= 0:
        raise StageFailed("input has no measurable duration: the file is not a playable video")
    return MediaInfo(
        duration_seconds=duration,
        width=int(video["width"]),
        height=int(video["height"]),
        video_codec=str(video.get("codec_name", "unknown")),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
    )


async def probe(path: Path, timeout_s: float) -> MediaInfo:
    """Probe `path`; raise `StageFailed` with a readable reason when it is not a decodable video."""
    if not path.is_file():
        raise StageFailed("input file is missing from storage")
    if path.stat().st_size == 0:
        raise StageFailed("input file is empty (0 bytes)")
    code, stdout, stderr = await run_tool(
        [
            "ffprobe",
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        timeout_s,
    )
    if code != 0:
        raise StageFailed(f"input is not a decodable video: ffprobe: {last_error_line(stderr)}")
    try:
        data = json.loads(stdout)
    except ValueError:
        raise StageFailed("input is not a decodable video: ffprobe gave no readable description") from None
    return _parse(data)
