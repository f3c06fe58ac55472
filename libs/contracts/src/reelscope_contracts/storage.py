"""Where a job's files live in the shared storage directory, addressed by job id.

Messages carry paths relative to the storage root, so services may mount the volume at different places.
"""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobPaths:
    """The layout of one job's directory under the storage root."""

    root: Path
    job_id: str

    @property
    def job_dir(self) -> Path:
        return self.root / "jobs" / self.job_id

    def input_file(self, suffix: str) -> Path:
        return self.job_dir / "input" / f"source{suffix}"

    def rendition(self, name: str) -> Path:
        return self.job_dir / "renditions" / f"{name}.mp4"

    @property
    def audio(self) -> Path:
        return self.job_dir / "audio" / "speech-16k.wav"

    @property
    def transcript_text(self) -> Path:
        return self.job_dir / "transcript" / "transcript.txt"

    @property
    def transcript_vtt(self) -> Path:
        return self.job_dir / "transcript" / "transcript.vtt"

    def relative(self, path: Path) -> str:
        """The path as messages carry it: relative to the storage root."""
        return path.relative_to(self.root).as_posix()

    def resolve(self, relative: str) -> Path:
        """Turn a message path back into a file path, refusing anything outside the storage root."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise ValueError(f"path {relative!r} leaves the storage root")
        return candidate
