"""Fixtures for the transcode tests: every input shape generated once per session with real ffmpeg (and
flite), filesystem storage on tmp_path, in-memory telemetry, the stage, and an ffprobe helper."""

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli import samples
from reelscope_contracts import JobKeys, JobSubmitted
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.stage import TranscodeStage


def _clip_makers() -> dict[str, Callable[[Path], Path]]:
    return {
        "720p.mp4": lambda p: samples.make_test_clip(p, size="1280x720", duration_s=2),
        "480p.mp4": lambda p: samples.make_test_clip(p, size="854x480", duration_s=1),
        "tiny.mp4": lambda p: samples.make_test_clip(p, size="160x90", duration_s=1),
        "silent.mp4": samples.make_silent_clip,
        "audio-only.m4a": samples.make_audio_only_clip,
        "rotated.mp4": samples.make_rotated_clip,
        "odd.mp4": samples.make_odd_size_clip,
        "anamorphic.mp4": samples.make_anamorphic_clip,
        "vfr.mp4": samples.make_vfr_clip,
        "hevc10.mp4": samples.make_hevc_10bit_clip,
        "short.mp4": samples.make_short_clip,
        "long.mp4": samples.make_long_clip,
        "long-30s.mp4": lambda p: samples.make_long_clip(p, duration_s=30),
        "six-seconds.mkv": lambda p: samples.make_test_clip(p, size="320x240", duration_s=6),
        "image.png": samples.make_image,
        "image.jpg": samples.make_image,
        "subtitles.mkv": samples.make_subtitles_only_file,
        "empty.mp4": samples.make_empty_file,
        "text.mp4": samples.make_text_file,
        "unknown-codec.avi": samples.make_unknown_codec_clip,
    }


@dataclass
class Clips:
    """Generated inputs, each made on first use and kept for the session."""

    directory: Path
    made: dict[str, Path] = field(default_factory=dict)

    def __call__(self, name: str) -> Path:
        if name not in self.made:
            if name == "truncated.mp4":
                self.made[name] = samples.make_truncated_clip(self.directory / name, self("720p.mp4"))
            elif name == "truncated.mkv":
                self.made[name] = samples.make_truncated_clip(self.directory / name, self("six-seconds.mkv"))
            elif name == "garbled.mp4":
                self.made[name] = samples.make_garbled_clip(self.directory / name, self("silent.mp4"))
            elif name == "corrupt.mp4":
                self.made[name] = samples.make_corrupt_clip(self.directory / name, self("720p.mp4"))
            else:
                self.made[name] = _clip_makers()[name](self.directory / name)
        return self.made[name]


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    return Clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def storage(tmp_path: Path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "storage")


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    with capture_telemetry("transcode-test") as captured:
        yield captured


@pytest.fixture
def settings(tmp_path: Path) -> TranscodeSettings:
    return TranscodeSettings(storage_dir=tmp_path / "storage")


@pytest.fixture
def stage(settings: TranscodeSettings, storage: FilesystemStorage, telemetry: CapturedTelemetry) -> TranscodeStage:
    return TranscodeStage(settings, storage, telemetry.telemetry)


class RecordedProgress:
    """A progress sink that keeps every fraction it was given."""

    def __init__(self) -> None:
        self.fractions: list[float] = []

    def update(self, fraction: float) -> None:
        self.fractions.append(fraction)


@pytest.fixture
def progress() -> RecordedProgress:
    return RecordedProgress()


@pytest.fixture
def submit(storage: FilesystemStorage) -> Callable[..., Any]:
    """Store a clip as a job's input and return the `JobSubmitted` ingest would publish for it."""

    async def submit(path: Path, *, hls: bool | None = None, job_id: str | None = None) -> JobSubmitted:
        job_id = job_id or uuid.uuid4().hex[:12]
        key = JobKeys(job_id).input(path.suffix)
        await storage.put_file(key, path)
        return JobSubmitted(
            job_id=job_id,
            input_key=key,
            original_filename=path.name,
            input_size_bytes=path.stat().st_size,
            hls=hls,
            webhook_url="https://example.test/hook",
        )

    return submit


def ffprobe_json(path: Path) -> dict[str, Any]:
    """ffprobe's description of an output file (streams with side data, format)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        check=True,
        capture_output=True,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture
def probe_output() -> Callable[[Path], dict[str, Any]]:
    return ffprobe_json
