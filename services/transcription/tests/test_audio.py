"""The chunk reader: bounded chunks that tile the audio exactly, cut inside silences; clear refusals."""

import itertools
import wave
from pathlib import Path

import pytest
from reelscope_transcription.audio import BYTES_PER_SECOND, ChunkReader, longest_pause_cut
from reelscope_transcription.exceptions import AudioUnreadable

from .conftest import Speech

pytestmark = pytest.mark.unit

FOX = "the quick brown fox jumps over the lazy dog near the river bank"


def test_longest_pause_cut_picks_the_middle_of_the_longest_silence() -> None:
    """The cut lands mid-way through the longest non-speech run inside [lo, hi), or at hi without one."""
    speech = [True] * 3 + [False] * 2 + [True] * 2 + [False] * 4 + [True] * 3
    assert longest_pause_cut(speech, 0, len(speech)) == 7 + 2
    assert longest_pause_cut(speech, 0, 6) == 3 + 1
    assert longest_pause_cut([True] * 10, 2, 8) == 8


def test_chunks_tile_the_audio_and_cut_in_silence(tmp_path: Path, speech: Speech) -> None:
    """Chunks are contiguous, never longer than the maximum, and every cut falls in a gap between sentences."""
    sentence = speech.sentence(FOX)
    parts = []
    for gap in (1.0, 2.5, 0.7, 3.0, 1.5, 2.0):
        parts += [sentence, speech.silence(gap)]
    wav = speech.write(tmp_path / "a.wav", *parts)
    speech_spans, t = [], 0.0
    for part in parts:
        if any(part):
            speech_spans.append((t, t + speech.seconds(part)))
        t += speech.seconds(part)

    with ChunkReader(wav, max_s=8.0, min_s=3.0) as reader:
        chunks = list(reader)
        total = reader.total_s
        assert reader.peak_buffered_bytes <= reader.max_chunk_bytes + reader.block_bytes

    assert len(chunks) >= 3
    assert chunks[0].start_s == 0
    for before, after in itertools.pairwise(chunks):
        assert after.start_s == pytest.approx(before.start_s + before.duration_s)
        assert before.duration_s <= 8.0
        # flite's own edges are quiet, so allow cuts a little inside a sentence's first/last 0.2 s
        assert not any(start + 0.2 < after.start_s < end - 0.2 for start, end in speech_spans)
    assert sum(c.duration_s for c in chunks) == pytest.approx(total)
    assert all(c.speech_s > 0 for c in chunks)


def test_silence_only_chunks_report_no_speech(tmp_path: Path, speech: Speech) -> None:
    """Digital silence is classed as no speech, so the recogniser can skip it."""
    wav = speech.write(tmp_path / "quiet.wav", speech.silence(5))
    with ChunkReader(wav, max_s=2.0, min_s=1.0) as reader:
        chunks = list(reader)
    assert len(chunks) >= 3
    assert all(c.speech_s == 0 for c in chunks)
    assert sum(len(c.pcm) for c in chunks) == 5 * BYTES_PER_SECOND


def test_wrong_audio_format_is_refused_with_what_it_is(tmp_path: Path) -> None:
    """A 44.1 kHz stereo WAV is refused, naming the expected and the actual format."""
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(bytes(4 * 4410))
    with pytest.raises(AudioUnreadable, match=r"16 kHz mono 16-bit PCM, got 44100 Hz, 2 channel\(s\), 16-bit"):
        ChunkReader(path, max_s=30, min_s=10)


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00", b"this is not audio at all" * 10])
def test_non_wav_input_is_refused(tmp_path: Path, content: bytes) -> None:
    """Empty, truncated or non-WAV bytes raise AudioUnreadable with a readable reason."""
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioUnreadable, match=r"not a readable WAV file: .+"):
        ChunkReader(path, max_s=30, min_s=10)
