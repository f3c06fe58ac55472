"""Plan the rendition ladder and the single ffmpeg invocation that encodes all of it."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reelscope_transcode.probe import MediaInfo


@dataclass(frozen=True)
class PlannedRendition:
    """One output of the ladder: name, target height and where it goes."""

    name: str
    height: int
    path: Path


def plan_ladder(info: MediaInfo, heights: tuple[int, ...], output: Callable[[str], Path]) -> list[PlannedRendition]:
    """Heights at or below the source's (never upscale); a source smaller than the whole ladder gets
    one rendition at its own (even) height."""
    fitting = [h for h in heights if h <= info.height]
    if not fitting:
        fitting = [info.height - info.height % 2]
    return [PlannedRendition(f"{h}p", h, output(f"{h}p")) for h in fitting]


def ffmpeg_command(
    source: Path,
    renditions: list[PlannedRendition],
    audio_out: Path | None,
    *,
    preset: str,
    crf: int,
    audio_bitrate: str,
) -> list[str]:
    """One decode, many encodes: `split` the video once and scale each branch; local files only."""
    branches = "".join(f"[v{i}]" for i in range(len(renditions)))
    scales = ";".join(f"[v{i}]scale=-2:{r.height}[o{i}]" for i, r in enumerate(renditions))
    command = [
        "ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-y",
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-i",
        str(source),
        "-filter_complex",
        f"[0:v:0]split={len(renditions)}{branches};{scales}",
    ]
    for i, rendition in enumerate(renditions):
        command += [
            "-map",
            f"[o{i}]",
            "-map",
            "0:a:0?",
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            str(crf),
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            audio_bitrate,
            "-movflags",
            "+faststart",
            str(rendition.path),
        ]
    if audio_out is not None:
        command += ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(audio_out)]
    return command
