"""Read a job's speech WAV in bounded chunks, cut where nobody speaks, so memory stays flat however long
the audio is and no word is split between two recogniser calls.

The reader holds at most one chunk (`max_s` of audio) plus one read block. It classifies every 30 ms
frame with pocketsphinx's voice-activity detector (WebRTC's), and once `max_s` is buffered it cuts at
the middle of the longest non-speech run between `min_s` and `max_s` (or at `max_s` when someone talks
through the whole window). What follows the cut starts the next chunk.
"""

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from reelscope_transcription.exceptions import AudioUnreadable

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH
VAD_FRAME_S = 0.03


@dataclass(frozen=True)
class AudioChunk:
    """A window of 16 kHz mono 16-bit PCM starting `start_s` seconds into the audio."""

    index: int
    start_s: float
    pcm: bytes
    speech_s: float
    """How much of it the voice-activity detector classed as speech (0: nothing to recognise)."""

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


def longest_pause_cut(speech: list[bool], lo: int, hi: int) -> int:
    """The frame index to cut at: the middle of the longest non-speech run in `speech[lo:hi]`, else `hi`."""
    best_start, best_len = hi, 0
    run_start = None
    for i in range(lo, hi + 1):
        silent = i < hi and not speech[i]
        if silent and run_start is None:
            run_start = i
        elif not silent and run_start is not None:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = None
    return best_start + best_len // 2 if best_len else hi


class ChunkReader:
    """Iterate a WAV file as `AudioChunk`s; use as a context manager (it holds the file open)."""

    def __init__(self, path: Path, *, max_s: float, min_s: float, vad_mode: int = 2, block_s: float = 1.0) -> None:
        from pocketsphinx import Vad  # C extension; also what the recogniser processes import

        try:
            self._wav = wave.open(str(path), "rb")  # noqa: SIM115  # closed by close()/__exit__
        except (wave.Error, EOFError) as exc:
            raise AudioUnreadable(
                f"audio is not a readable WAV file: {str(exc) or 'it is empty or truncated'}"
            ) from exc
        channels, width, rate = self._wav.getnchannels(), self._wav.getsampwidth(), self._wav.getframerate()
        if (channels, width, rate) != (1, SAMPLE_WIDTH, SAMPLE_RATE) or self._wav.getcomptype() != "NONE":
            self._wav.close()
            raise AudioUnreadable(
                f"audio must be 16 kHz mono 16-bit PCM, got {rate} Hz, {channels} channel(s), {8 * width}-bit"
            )
        self._vad = Vad(vad_mode, SAMPLE_RATE, VAD_FRAME_S)
        self._frame_bytes: int = self._vad.frame_bytes
        frame_s = self._frame_bytes / BYTES_PER_SECOND
        self._max_frames = max(1, int(max_s / frame_s))
        self._min_frames = min(self._max_frames - 1, int(min_s / frame_s))
        self._block_frames = max(1, int(block_s / frame_s))
        self.total_s = self._wav.getnframes() / SAMPLE_RATE
        self.peak_buffered_bytes = 0
        """The most PCM this reader ever held at once (for tests and logs)."""

    @property
    def max_chunk_bytes(self) -> int:
        return self._max_frames * self._frame_bytes

    @property
    def block_bytes(self) -> int:
        return self._block_frames * self._frame_bytes

    def __iter__(self) -> Iterator[AudioChunk]:
        buffer = bytearray()
        speech: list[bool] = []
        start_byte = 0
        index = 0
        fb = self._frame_bytes
        while True:
            try:
                block = self._wav.readframes(self._block_frames * fb // SAMPLE_WIDTH)
            except (wave.Error, EOFError, OSError) as exc:
                raise AudioUnreadable(
                    f"audio could not be read past {start_byte / BYTES_PER_SECOND:.1f} s: {exc}"
                ) from exc
            buffer += block
            self.peak_buffered_bytes = max(self.peak_buffered_bytes, len(buffer))
            for frame in range(len(speech), len(buffer) // fb):
                speech.append(self._vad.is_speech(bytes(buffer[frame * fb : (frame + 1) * fb])))
            # At the end of the file a remainder that fits is one last chunk; before it, a full window is cut.
            while len(speech) >= self._max_frames and (block or len(speech) > self._max_frames):
                cut = longest_pause_cut(speech, self._min_frames, self._max_frames)
                yield self._chunk(index, start_byte, buffer, speech, cut * fb, cut)
                start_byte += cut * fb
                del buffer[: cut * fb], speech[:cut]
                index += 1
            if not block:
                break
        if buffer:
            yield self._chunk(index, start_byte, buffer, speech, len(buffer), len(speech))

    def _chunk(
        self, index: int, start_byte: int, buffer: bytearray, speech: list[bool], end_byte: int, end_frame: int
    ) -> AudioChunk:
        frame_s = self._frame_bytes / BYTES_PER_SECOND
        with memoryview(buffer) as view:  # one copy of the audio, not two (a bytearray slice copies too)
            pcm = bytes(view[:end_byte])
        return AudioChunk(
            index=index,
            start_s=start_byte / BYTES_PER_SECOND,
            pcm=pcm,
            speech_s=sum(speech[:end_frame]) * frame_s,
        )

    def close(self) -> None:
        self._wav.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
