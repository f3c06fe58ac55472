"""Transcription settings, from `REELSCOPE_*` env vars."""

from pathlib import Path

from pydantic import Field
from reelscope_messaging import WorkerSettings


class TranscriptionSettings(WorkerSettings):
    """Where files live and how the recogniser runs."""

    storage_dir: Path = Field(default=Path("var/storage"))
    asr_engine: str = Field(default="pocketsphinx", pattern=r"^pocketsphinx$")
    asr_workers: int = Field(default=1, ge=1, le=16, description="Recogniser processes")
    cue_max_words: int = Field(default=8, ge=1, le=40)
    cue_max_pause_s: float = Field(default=0.8, gt=0)
