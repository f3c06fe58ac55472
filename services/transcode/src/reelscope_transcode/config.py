"""Transcode settings, from `REELSCOPE_*` env vars; bad values refuse to start."""

from pathlib import Path

from pydantic import Field, field_validator
from reelscope_messaging import WorkerSettings


class TranscodeSettings(WorkerSettings):
    """Where files live and what ladder to encode."""

    storage_dir: Path = Field(default=Path("var/storage"))
    rendition_heights: tuple[int, ...] = Field(default=(360, 720), description="REELSCOPE_RENDITION_HEIGHTS=[360,720]")
    x264_preset: str = Field(default="veryfast")
    x264_crf: int = Field(default=23, ge=0, le=51)
    audio_bitrate: str = Field(default="128k", pattern=r"^\d+k$")
    ffmpeg_timeout_s: float = Field(default=900.0, gt=0)
    ffprobe_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("rendition_heights")
    @classmethod
    def _even_and_sorted(cls, heights: tuple[int, ...]) -> tuple[int, ...]:
        if not heights or any(h < 64 or h > 4320 or h % 2 for h in heights):
            raise ValueError("rendition heights must be even numbers between 64 and 4320")
        return tuple(sorted(set(heights)))
