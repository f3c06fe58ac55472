"""Chunked recognition with the real pocketsphinx pool: long audio in bounded memory with correct
timestamps, quality on flite speech, a dying recogniser process, and cancellation."""

import asyncio
import itertools
import multiprocessing
import os
import signal
import tracemalloc
from pathlib import Path

import pytest
from reelscope_bench.asr import SENTENCES, normalise, word_error_rate
from reelscope_transcription.exceptions import RecognitionFailed
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.recognition import ChunkPlan, Tally, recognize_file

from .conftest import Speech

pytestmark = pytest.mark.integration

PLAN = ChunkPlan(max_s=30.0, min_s=10.0)
MARKER = "the box was thrown beside the parked truck"
FILLERS = (SENTENCES[0], SENTENCES[4], SENTENCES[6])


async def test_five_minutes_are_recognised_in_bounded_chunks_with_true_times(
    tmp_path: Path, speech: Speech, sphinx_pool: RecognizerPool
) -> None:
    """A 6-minute WAV is read one bounded chunk at a time (Python memory far below the file's size);
    segment times are monotonic, offset by their chunk's start (a marker sentence is found where it
    was placed) and cover the audio from start to end, silent stretches skipped."""
    parts: list[bytes] = []
    markers: list[float] = []
    last_speech_end = 0.0
    t = 0.0
    i = 0
    while t < 360:
        if i % 7 == 3:
            markers.append(t)
            part = speech.sentence(MARKER)
        elif i in (10, 30):
            part = speech.silence(45)  # a long silence: chunks inside it are never sent to the recogniser
        else:
            part = speech.sentence(FILLERS[i % 3])
        gap = speech.silence(1.0 + (i % 5) * 1.0)
        parts += [part, gap]
        if any(part):
            last_speech_end = t + speech.seconds(part)
        t += speech.seconds(part) + speech.seconds(gap)
        i += 1
    wav = speech.write(tmp_path / "long.wav", *parts)
    file_bytes = wav.stat().st_size
    fractions: list[float] = []
    tally = Tally()

    tracemalloc.start()
    try:
        transcript = await recognize_file(
            wav, sphinx_pool, PLAN, fallback_language="en", tally=tally, on_progress=fractions.append
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert tally.audio_s >= 360
    max_chunk_bytes = int(PLAN.max_s / 0.03) * 960
    assert max(tally.chunk_bytes) <= max_chunk_bytes
    assert tally.peak_buffered_bytes <= max_chunk_bytes + 33 * 960
    assert tally.chunks >= 10
    assert tally.recognized_chunks < tally.chunks  # the silent stretch was skipped
    assert peak < file_bytes / 2, f"peak Python allocation {peak} bytes for a {file_bytes}-byte file"

    segments = transcript.segments
    assert all(s.end >= s.start for s in segments)
    assert all(b.start >= a.end - 0.011 for a, b in itertools.pairwise(segments))
    assert segments[0].start < 5
    assert segments[-1].end > last_speech_end - 3
    found = [s.start for s in segments if "truck" in s.text or "thrown" in s.text]
    for placed in markers:
        assert any(abs(start - placed) < 3 for start in found), f"marker spoken at {placed:.1f} s not found"
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)
    assert tally.cpu_seconds > 0
    assert transcript.language == "en"


async def test_word_error_rate_on_flite_speech_stays_low(
    tmp_path: Path, speech: Speech, sphinx_pool: RecognizerPool
) -> None:
    """pocketsphinx keeps the word error rate on three fixed flite sentences at or below 0.35 (measured: 0.18)."""
    chosen = [SENTENCES[0], SENTENCES[3], SENTENCES[6]]
    hypotheses = []
    for n, sentence in enumerate(chosen):
        wav = speech.write(tmp_path / f"s{n}.wav", speech.silence(0.3), speech.sentence(sentence), speech.silence(0.3))
        hypotheses.append((await recognize_file(wav, sphinx_pool, PLAN, fallback_language="en")).text)
    wer = word_error_rate(chosen, hypotheses)
    assert wer <= 0.35, f"WER {wer:.3f}: {[normalise(h) for h in hypotheses]}"


async def test_a_killed_recogniser_process_fails_the_chunk_and_the_pool_recovers(
    tmp_path: Path, speech: Speech
) -> None:
    """When a recogniser process dies mid-chunk the call fails with a clear reason; the next call works."""
    from reelscope_transcription.engines import SphinxEngine

    before = {p.pid for p in multiprocessing.active_children()}
    pool = RecognizerPool(SphinxEngine().recognizer(), workers=1)
    try:
        pool.warm()
        ours = [p.pid for p in multiprocessing.active_children() if p.pid is not None and p.pid not in before]
        assert ours
        long_speech = [speech.sentence(SENTENCES[1])] * 6
        wav = speech.write(tmp_path / "long.wav", *long_speech)
        task = asyncio.ensure_future(recognize_file(wav, pool, PLAN, fallback_language="en"))
        await asyncio.sleep(0.5)
        for pid in ours:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(RecognitionFailed, match=r"recogniser process died on the chunk at 0\.0 s"):
            await task
        again = await recognize_file(wav, pool, PLAN, fallback_language="en")
        assert "things" in again.text
    finally:
        pool.close()


async def test_cancelling_stops_submitting_chunks(tmp_path: Path, speech: Speech, sphinx_pool: RecognizerPool) -> None:
    """Cancelling the task mid-file raises CancelledError and no further chunk is recognised."""
    wav = speech.write(tmp_path / "a.wav", *([speech.sentence(SENTENCES[2]), speech.silence(1)] * 40))
    tally = Tally()
    first_chunk_done = asyncio.Event()
    plan = ChunkPlan(max_s=6.0, min_s=2.0)
    task = asyncio.ensure_future(
        recognize_file(
            wav, sphinx_pool, plan, fallback_language="en", tally=tally, on_progress=lambda _: first_chunk_done.set()
        )
    )
    await asyncio.wait_for(first_chunk_done.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    submitted = tally.chunks
    await asyncio.sleep(1.0)
    assert tally.chunks == submitted
    assert tally.chunks < 10  # of about 40
    assert tally.done_s < tally.audio_s
