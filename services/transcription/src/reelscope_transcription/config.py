"""Transcription settings, from `REELSCOPE_*` env vars; a bad value stops the worker at start-up."""

from typing import Literal, Self

from pydantic import Field, model_validator
from reelscope_messaging import WorkerSettings
from reelscope_storage import StorageSettings

EngineName = Literal["pocketsphinx", "faster-whisper"]


class TranscriptionSettings(WorkerSettings, StorageSettings):
    """Which recogniser runs, how audio is cut into chunks, and how cues are shaped."""

    asr_engine: EngineName = Field(
        default="pocketsphinx", description="`pocketsphinx` (offline default) or `faster-whisper`"
    )
    asr_workers: int = Field(
        default=1, ge=1, le=16, description="Recogniser processes (chunks of one job run in parallel)"
    )
    asr_language: str = Field(
        default="en",
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        description="Declared language of pocketsphinx transcripts (its bundled model is US English)",
    )
    asr_chunk_max_s: float = Field(
        default=30.0, ge=2, le=600, description="Longest audio window sent to the recogniser"
    )
    asr_chunk_min_s: float = Field(
        default=10.0, ge=0.5, description="A chunk is cut at the longest silence between its min and max length"
    )
    asr_vad_mode: int = Field(default=2, ge=0, le=3, description="Voice-activity aggressiveness for chunk cuts (0-3)")

    whisper_model: str = Field(
        default="small",
        min_length=1,
        description="faster-whisper model: a local CTranslate2 model directory, or a name already in the local cache",
    )
    whisper_compute_type: str = Field(default="int8", pattern=r"^[a-z0-9_]+$", description="CTranslate2 compute type")
    whisper_device: Literal["cpu", "cuda", "auto"] = Field(default="cpu")
    whisper_cpu_threads: int = Field(
        default=0, ge=0, le=64, description="Threads per recogniser process (0: library default)"
    )
    whisper_beam_size: int = Field(default=5, ge=1, le=20)
    whisper_language: str | None = Field(
        default=None, pattern=r"^[a-z]{2,3}$", description="Force a language; unset: detected per chunk"
    )

    cue_max_words: int = Field(default=8, ge=1, le=40, description="Words per subtitle cue (pocketsphinx)")
    cue_max_pause_s: float = Field(default=0.8, gt=0, description="A longer pause starts a new cue (pocketsphinx)")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.asr_chunk_min_s >= self.asr_chunk_max_s:
            raise ValueError("REELSCOPE_ASR_CHUNK_MIN_S must be smaller than REELSCOPE_ASR_CHUNK_MAX_S")
        if self.asr_engine == "pocketsphinx" and self.asr_language.split("-")[0] != "en":
            raise ValueError(
                "pocketsphinx ships only a US English model: REELSCOPE_ASR_LANGUAGE must be `en` "
                "(use REELSCOPE_ASR_ENGINE=faster-whisper for other languages)"
            )
        return self
