"""ffprobe, hardened: only local files, only container formats on our allowlist; and what it found, as
`MediaInfo` on display terms (rotation and pixel aspect applied), or a precise reason why not."""

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from reelscope_contracts import FailureCategory
from reelscope_messaging import StageFailed

from reelscope_transcode.process import Finished, OutputTooLarge, run_tool

# Demuxers that read exactly the one file they are given. Playlists (hls, dash), lists (concat), image
# sequences (image2), `subfile`, `tty`, raw elementary streams and everything else are refused.
ALLOWED_DEMUXERS: tuple[str, ...] = (
    "mov",  # mov,mp4,m4a,3gp,3g2,mj2
    "matroska",  # matroska,webm
    "avi",
    "mpegts",
    "mpeg",  # MPEG program stream (.mpg, .vob)
    "flv",
    "asf",  # .wmv, .wma
    "ogg",
    "wav",
    "w64",
    "aiff",
    "mp3",
    "aac",
    "flac",
)
MAX_SIDE = 8192

_NOT_WHITELISTED = re.compile(r"\[([\w,-]+) @ 0x[0-9a-f]+\] Format not on whitelist")
_MOOV_MISSING = "moov atom not found"


@dataclass(frozen=True)
class VideoStream:
    """The picture to encode, in display terms: what a player shows after rotation and pixel aspect."""

    index: int
    codec: str
    pix_fmt: str
    coded_width: int
    coded_height: int
    rotation: int
    """Rotation the container asks players for (0, 90, 180, 270); ffmpeg applies it while decoding."""
    display_width: int
    display_height: int
    frame_rate: Fraction | None


@dataclass(frozen=True)
class AudioStream:
    """The first audio track: the one renditions carry and transcription hears."""

    index: int
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe found in an input that we can process."""

    demuxer: str
    """The demuxer's short name, forced on ffmpeg with `-f` so it cannot guess differently."""
    duration_s: float | None
    size_bytes: int
    video: VideoStream | None
    audio: AudioStream | None


def ffprobe_command(path: Path) -> list[str]:
    """Local file only, allowlisted demuxers only, JSON out."""
    return [
        "ffprobe",
        "-hide_banner",
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        ",".join(ALLOWED_DEMUXERS),
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        f"file:{path.resolve()}",
    ]


async def ffprobe(path: Path, *, timeout_s: float, grace_s: float) -> MediaInfo:
    """Probe `path`; raise `StageFailed` with a readable reason and category when we cannot process it."""
    try:
        finished = await run_tool(ffprobe_command(path), timeout_s=timeout_s, grace_s=grace_s)
    except OutputTooLarge:
        raise StageFailed(
            "input is not processable: ffprobe's description of it is implausibly large",
            FailureCategory.INVALID_INPUT,
        ) from None
    if finished.returncode != 0:
        raise _refusal(finished)
    try:
        data = json.loads(finished.stdout)
    except ValueError:
        raise StageFailed("not a media file: ffprobe could not describe it", FailureCategory.INVALID_INPUT) from None
    return parse(data, path.stat().st_size)


def _refusal(finished: Finished) -> StageFailed:
    stderr = "\n".join(finished.stderr_tail)
    refused = _NOT_WHITELISTED.search(stderr)
    if refused:
        accepted = ", ".join(ALLOWED_DEMUXERS)
        return StageFailed(
            f"input format '{refused.group(1)}' is not accepted (accepted containers: {accepted})",
            FailureCategory.UNSUPPORTED_MEDIA,
        )
    if _MOOV_MISSING in stderr:
        return StageFailed(
            "input container is truncated or corrupt: its MP4 index (the 'moov' box) cannot be found",
            FailureCategory.INVALID_INPUT,
        )
    return StageFailed(f"not a media file ffprobe can read ({finished.reason()})", FailureCategory.INVALID_INPUT)


def parse(data: dict[str, Any], size_bytes: int) -> MediaInfo:
    """`MediaInfo` from ffprobe's JSON; `StageFailed` when it holds nothing to transcode."""
    streams: list[dict[str, Any]] = data.get("streams") or []
    fmt: dict[str, Any] = data.get("format") or {}
    videos = [s for s in streams if s.get("codec_type") == "video" and _positive(s.get("width"))]
    video = next((s for s in videos if not (s.get("disposition") or {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio" and _positive(s.get("channels"))), None)
    if video is None and audio is None:
        kinds = sorted({str(s.get("codec_type", "unknown")) for s in streams})
        if videos:
            kinds = ["a cover picture" if k == "video" else k for k in kinds]
        found = f"only {', '.join(kinds)}" if kinds else "no streams at all"
        raise StageFailed(f"input has no video or audio stream ({found})", FailureCategory.UNSUPPORTED_MEDIA)
    durations = [_float(fmt.get("duration"))] + [_float(s.get("duration")) for s in streams]
    duration = next((d for d in durations if d is not None and d > 0), None)
    return MediaInfo(
        demuxer=str(fmt.get("format_name", "")).split(",")[0],
        duration_s=duration,
        size_bytes=size_bytes,
        video=_video(video) if video is not None else None,
        audio=_audio(audio) if audio is not None else None,
    )


def _known_codec(stream: dict[str, Any]) -> str:
    codec = str(stream.get("codec_name") or "unknown")
    if codec in ("unknown", "none"):
        tag = str(stream.get("codec_tag_string") or "?")
        raise StageFailed(
            f"input's {stream.get('codec_type')} codec is not supported (unknown codec, tag '{tag}')",
            FailureCategory.UNSUPPORTED_MEDIA,
        )
    return codec


def _video(stream: dict[str, Any]) -> VideoStream:
    width, height = int(stream["width"]), int(stream["height"])
    if max(width, height) > MAX_SIDE:
        raise StageFailed(
            f"video is {width}x{height}; the largest side we accept is {MAX_SIDE}", FailureCategory.UNSUPPORTED_MEDIA
        )
    sar = _ratio(stream.get("sample_aspect_ratio")) or Fraction(1)
    rotation = _rotation(stream)
    display_width, display_height = max(1, round(width * sar)), height
    if rotation in (90, 270):
        display_width, display_height = display_height, display_width
    return VideoStream(
        index=int(stream["index"]),
        codec=_known_codec(stream),
        pix_fmt=str(stream.get("pix_fmt", "unknown")),
        coded_width=width,
        coded_height=height,
        rotation=rotation,
        display_width=display_width,
        display_height=display_height,
        frame_rate=_ratio(stream.get("avg_frame_rate")) or _ratio(stream.get("r_frame_rate")),
    )


def _audio(stream: dict[str, Any]) -> AudioStream:
    return AudioStream(
        index=int(stream["index"]),
        codec=_known_codec(stream),
        channels=int(stream["channels"]),
        sample_rate=int(_float(stream.get("sample_rate")) or 0),
    )


def _rotation(stream: dict[str, Any]) -> int:
    """Rotation from the display matrix (or the legacy `rotate` tag), normalised to 0/90/180/270."""
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            return round(float(side_data["rotation"]) / 90) * 90 % 360
    tag = _float((stream.get("tags") or {}).get("rotate"))
    return round(tag / 90) * 90 % 360 if tag is not None else 0


def _ratio(text: object) -> Fraction | None:
    """`"4:3"`, `"30000/1001"` → a positive Fraction; `"0:1"`, `"0/0"`, `"N/A"` → None."""
    if not isinstance(text, str):
        return None
    top, sep, bottom = text.replace(":", "/").partition("/")
    try:
        value = Fraction(int(top), int(bottom)) if sep else Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _positive(value: object) -> bool:
    number = _float(value)
    return number is not None and number > 0
