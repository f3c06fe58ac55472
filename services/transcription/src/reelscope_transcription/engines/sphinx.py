"""pocketsphinx, the offline default: its US English acoustic and language models ship inside the wheel."""

import functools
from dataclasses import dataclass
from typing import Any

from reelscope_transcription.audio import SAMPLE_RATE, AudioChunk
from reelscope_transcription.exceptions import EngineUnavailable
from reelscope_transcription.subtitles import group_words
from reelscope_transcription.transcript import ChunkResult, Segment

FRAMES_PER_SECOND = 100  # pocketsphinx reports word timings in 10 ms frames


def _clean(token: str) -> str | None:
    """Drop silence and filler markers (`<s>`, `<sil>`, `[NOISE]`, `+SPN+`) and alternate-pronunciation tags."""
    if token.startswith(("<", "[", "+")):
        return None
    return token.split("(")[0]


@functools.cache
def _decoder() -> Any:
    """One decoder per pool process, built on first use and reused for every chunk it recognises
    (building one loads the models: about 0.4 s)."""
    from pocketsphinx import Decoder

    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")


@dataclass(frozen=True)
class SphinxRecognizer:
    """Decode a chunk and group its timed words into cues."""

    language: str
    cue_max_words: int
    cue_max_pause_s: float

    def warm_up(self) -> None:
        _decoder()

    def __call__(self, chunk: AudioChunk) -> ChunkResult:
        decoder = _decoder()
        decoder.start_utt()
        decoder.process_raw(chunk.pcm, full_utt=True)
        decoder.end_utt()
        words = []
        for seg in decoder.seg():
            text = _clean(seg.word)
            if text:
                words.append(
                    Segment(seg.start_frame / FRAMES_PER_SECOND, (seg.end_frame + 1) / FRAMES_PER_SECOND, text)
                )
        cues = group_words(words, self.cue_max_words, self.cue_max_pause_s)
        return ChunkResult(tuple(cues), self.language)


@dataclass(frozen=True)
class SphinxEngine:
    """pocketsphinx with its bundled model; the language is declared (`REELSCOPE_ASR_LANGUAGE`), not detected."""

    language: str = "en"
    cue_max_words: int = 8
    cue_max_pause_s: float = 0.8
    name: str = "pocketsphinx"

    @property
    def fallback_language(self) -> str:
        return self.language

    def load(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise EngineUnavailable(
                f"pocketsphinx is not installed ({exc}): reinstall reelscope-transcription"
            ) from exc
        try:
            Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        except (RuntimeError, ValueError) as exc:
            raise EngineUnavailable(f"pocketsphinx could not load its bundled model: {exc}") from exc

    def recognizer(self) -> SphinxRecognizer:
        return SphinxRecognizer(self.language, self.cue_max_words, self.cue_max_pause_s)
