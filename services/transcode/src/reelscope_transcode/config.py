"""Transcode settings from `REELSCOPE_*` env vars: the rendition ladder, HLS, limits. Bad values refuse to start."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from reelscope_messaging import WorkerSettings
from reelscope_storage import StorageSettings


class Rung(BaseModel):
    """One rung of the ladder. `height` is the short side of the output (a portrait 720p is 720x1280).

    Quality is either constant (`crf`, optionally capped by `maxrate_kbps`/`bufsize_kbps`) or a target
    bitrate (`video_bitrate_kbps`, optionally with `maxrate_kbps`/`bufsize_kbps` for a constrained VBV).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    height: int = Field(ge=64, le=4320)
    crf: int | None = Field(default=None, ge=0, le=51)
    video_bitrate_kbps: int | None = Field(default=None, gt=0, le=200_000)
    maxrate_kbps: int | None = Field(default=None, gt=0, le=200_000)
    bufsize_kbps: int | None = Field(default=None, gt=0, le=400_000)
    audio_bitrate_kbps: int = Field(default=128, ge=16, le=512)
    profile: Literal["baseline", "main", "high"] = "high"
    level: str | None = Field(default=None, pattern=r"^(1b|[1-5](\.[0-2])?|6(\.[0-2])?)$")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.height % 2:
            raise ValueError(f"rung {self.name}: height must be even (4:2:0 video), got {self.height}")
        if (self.crf is None) == (self.video_bitrate_kbps is None):
            raise ValueError(f"rung {self.name}: give exactly one of crf or video_bitrate_kbps")
        if (self.maxrate_kbps is None) != (self.bufsize_kbps is None):
            raise ValueError(f"rung {self.name}: maxrate_kbps and bufsize_kbps go together")
        if self.video_bitrate_kbps and self.maxrate_kbps and self.maxrate_kbps < self.video_bitrate_kbps:
            raise ValueError(f"rung {self.name}: maxrate_kbps is below video_bitrate_kbps")
        return self


DEFAULT_LADDER: tuple[Rung, ...] = (
    Rung(name="360p", height=360, crf=23, maxrate_kbps=1000, bufsize_kbps=2000, audio_bitrate_kbps=96,
         profile="main", level="3.1"),
    Rung(name="720p", height=720, crf=23, maxrate_kbps=3500, bufsize_kbps=7000, audio_bitrate_kbps=128,
         profile="high", level="4.0"),
    Rung(name="1080p", height=1080, crf=23, maxrate_kbps=6500, bufsize_kbps=13000, audio_bitrate_kbps=160,
         profile="high", level="4.2"),
)  # fmt: skip
"""Capped CRF: constant quality, with a VBV ceiling so a noisy scene cannot blow up a rendition's size."""

X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]


class TranscodeSettings(WorkerSettings, StorageSettings):
    """What to encode and within which limits."""

    ladder: tuple[Rung, ...] = Field(
        default=DEFAULT_LADDER, description='REELSCOPE_LADDER=[{"name":"360p","height":360,"crf":23,...}, ...]'
    )
    hls_default: bool = Field(default=False, description="Package HLS when a job does not say (JobSubmitted.hls)")
    hls_segment_s: float = Field(default=6.0, ge=1, le=30, description="HLS segment (and keyframe interval) length")
    x264_preset: X264Preset = Field(default="veryfast")
    max_frame_rate: float = Field(default=60.0, ge=1, le=240, description="Outputs are constant-rate, at most this")
    poster_position: float = Field(default=0.1, ge=0, lt=1, description="Where the poster frame is, as a fraction")
    ffprobe_timeout_s: float = Field(default=30.0, gt=0)
    ffmpeg_timeout_factor: float = Field(default=6.0, gt=0, description="Wall-clock limit = factor x media duration")
    ffmpeg_timeout_floor_s: float = Field(default=120.0, gt=0, description="...but never less than this")
    ffmpeg_timeout_ceiling_s: float = Field(
        default=4 * 3600.0, gt=0, description="...nor more (also: unknown duration)"
    )
    kill_grace_s: float = Field(default=2.0, ge=0, le=30, description="SIGTERM to SIGKILL grace for a stopped tool")

    @field_validator("ladder")
    @classmethod
    def _usable_ladder(cls, ladder: tuple[Rung, ...]) -> tuple[Rung, ...]:
        if not ladder:
            raise ValueError("the ladder needs at least one rung")
        for what, values in (("names", [r.name for r in ladder]), ("heights", [r.height for r in ladder])):
            if len(set(values)) != len(values):
                raise ValueError(f"ladder rung {what} must be unique: {values}")
        return tuple(sorted(ladder, key=lambda rung: rung.height))

    @model_validator(mode="after")
    def _timeout_bounds(self) -> Self:
        if self.ffmpeg_timeout_floor_s > self.ffmpeg_timeout_ceiling_s:
            raise ValueError("ffmpeg_timeout_floor_s is above ffmpeg_timeout_ceiling_s")
        return self

    def ffmpeg_timeout_s(self, duration_s: float | None) -> float:
        """The wall-clock limit for one job's ffmpeg run: scaled to the media, within floor and ceiling."""
        if duration_s is None:
            return self.ffmpeg_timeout_ceiling_s
        scaled = self.ffmpeg_timeout_factor * duration_s
        return min(self.ffmpeg_timeout_ceiling_s, max(self.ffmpeg_timeout_floor_s, scaled))
