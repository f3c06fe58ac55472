"""The speech recogniser interface, and pocketsphinx behind it (its English model ships in the wheel).

Another engine plugs in by implementing `recognize(wav_path) -> list[Word]` as a module-level,
picklable callable: recognition is CPU-bound and runs in a separate process.
"""

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100  # pocketsphinx reports word timings in 10 ms frames


@dataclass(frozen=True)
class Word:
    """A recognised word with its start and end in seconds."""

    text: str
    start: float
    end: float


class Recognizer(Protocol):
    """Anything that turns a 16 kHz mono 16-bit WAV into timed words."""

    def __call__(self, wav_path: Path) -> list[Word]: ...


def _clean(token: str) -> str | None:
    """Drop silence and filler markers (`<s>`, `<sil>`, `[NOISE]`) and alternate-pronunciation tags."""
    if token.startswith(("<", "[", "+")):
        return None
    return token.split("(")[0]


def recognize_pocketsphinx(wav_path: Path) -> list[Word]:
    """Decode a 16 kHz mono WAV with pocketsphinx's bundled US English model."""
    from pocketsphinx import Decoder  # imported in the worker process only

    with wave.open(str(wav_path), "rb") as wav:
        if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError("audio must be 16 kHz mono 16-bit PCM")
        audio = wav.readframes(wav.getnframes())
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    words = []
    for segment in decoder.seg():
        text = _clean(segment.word)
        if text:
            words.append(
                Word(text, segment.start_frame / FRAMES_PER_SECOND, (segment.end_frame + 1) / FRAMES_PER_SECOND)
            )
    return words


ENGINES: dict[str, Recognizer] = {"pocketsphinx": recognize_pocketsphinx}
