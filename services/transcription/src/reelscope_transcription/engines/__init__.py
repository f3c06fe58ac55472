"""Speech recognition engines behind one small interface; `build_engine` picks the configured one."""

from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engines.base import ChunkRecognizer, Engine, timed_recognize
from reelscope_transcription.engines.sphinx import SphinxEngine
from reelscope_transcription.engines.whisper import WhisperEngine

__all__ = ["ChunkRecognizer", "Engine", "SphinxEngine", "WhisperEngine", "build_engine", "timed_recognize"]


def build_engine(settings: TranscriptionSettings) -> Engine:
    """The engine `REELSCOPE_ASR_ENGINE` names, configured but not yet loaded (call `load()`)."""
    if settings.asr_engine == "faster-whisper":
        return WhisperEngine(
            settings.whisper_model,
            device=settings.whisper_device,
            compute_type=settings.whisper_compute_type,
            cpu_threads=settings.whisper_cpu_threads,
            beam_size=settings.whisper_beam_size,
            language=settings.whisper_language,
        )
    return SphinxEngine(settings.asr_language, settings.cue_max_words, settings.cue_max_pause_s)
