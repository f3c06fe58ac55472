"""The recogniser interface: an engine is loaded once at worker start-up and hands out a picklable
per-chunk recogniser that runs in the process pool (recognition is CPU-bound; the event loop must stay free)."""

import time
from typing import Protocol

from reelscope_transcription.audio import AudioChunk
from reelscope_transcription.transcript import ChunkResult


class ChunkRecognizer(Protocol):
    """Turns one chunk of 16 kHz mono PCM into segments with chunk-relative times. Must pickle: it is sent
    to the pool process with every chunk, so keep it a small frozen dataclass of settings."""

    def __call__(self, chunk: AudioChunk) -> ChunkResult: ...

    def warm_up(self) -> None:
        """Load the model into this (pool) process, so the first chunk does not pay for it."""
        ...


class Engine(Protocol):
    """A speech recognition engine, as the worker sees it."""

    @property
    def name(self) -> str:
        """Reported in `TranscriptInfo.engine` and as the `reelscope.asr.engine` attribute."""
        ...

    @property
    def fallback_language(self) -> str:
        """The transcript's language when the engine detected none (declared, or `und`)."""
        ...

    def load(self) -> None:
        """Check at start-up that the engine can run (package installed, model present); raise
        `EngineUnavailable` with what is missing and how to provide it."""
        ...

    def recognizer(self) -> ChunkRecognizer:
        """The per-chunk function to run in the pool."""
        ...


def timed_recognize(recognizer: ChunkRecognizer, chunk: AudioChunk) -> tuple[ChunkResult, float]:
    """Run in a pool process: the chunk's result and the CPU seconds this process spent on it."""
    started = time.process_time()
    result = recognizer(chunk)
    return result, time.process_time() - started
