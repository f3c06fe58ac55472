"""Recognise a whole WAV file chunk by chunk through the recogniser pool: the path both the service and
the benchmark use. At most `pool.workers` chunks are in flight; results are stitched in audio order with
their times offset by each chunk's start."""

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reelscope_transcription.audio import AudioChunk, ChunkReader
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.transcript import ChunkResult, Segment, Transcript


@dataclass(frozen=True)
class ChunkPlan:
    """How audio is cut for the recogniser."""

    max_s: float = 30.0
    min_s: float = 10.0
    vad_mode: int = 2


@dataclass
class Tally:
    """What recognition has cost so far; kept up to date chunk by chunk, so a failed or cancelled job
    still reports the CPU it used."""

    audio_s: float = 0.0
    done_s: float = 0.0
    chunks: int = 0
    recognized_chunks: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_buffered_bytes: int = 0
    chunk_bytes: list[int] = field(default_factory=list)


def _language(results: list[tuple[float, ChunkResult]], fallback: str) -> str:
    """The language most words were recognised in (engines that detect it may disagree between chunks)."""
    votes: Counter[str] = Counter()
    for _, result in results:
        if result.language:
            votes[result.language] += max(1, sum(s.word_count for s in result.segments))
    return votes.most_common(1)[0][0] if votes else fallback


async def recognize_file(
    wav: Path,
    pool: RecognizerPool,
    plan: ChunkPlan,
    *,
    fallback_language: str,
    tally: Tally | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Transcript:
    """The transcript of a 16 kHz mono WAV. Raises `AudioUnreadable` or `RecognitionFailed`.

    `on_progress(fraction)` is called after every chunk. Cancelling the calling task stops submitting
    chunks at once (a chunk already running in a pool process finishes there, unused).
    """
    tally = tally if tally is not None else Tally()
    started = time.perf_counter()
    # Opening reads only the WAV header: fine on the event loop. Chunks are read on one thread of our own,
    # so closing the file can be queued behind a read still running when the task is cancelled.
    reader = ChunkReader(wav, max_s=plan.max_s, min_s=plan.min_s, vad_mode=plan.vad_mode)
    reading = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wav-reader")
    tally.audio_s = reader.total_s
    chunks = iter(reader)
    in_flight: deque[tuple[AudioChunk, asyncio.Task[tuple[ChunkResult, float]] | None]] = deque()
    results: list[tuple[float, ChunkResult]] = []  # (chunk start, result): never the chunk's audio
    try:
        exhausted = False
        while not exhausted or in_flight:
            while not exhausted and len(in_flight) < pool.workers:
                chunk = await asyncio.wrap_future(reading.submit(next, chunks, None))
                if chunk is None:
                    exhausted = True
                    break
                tally.chunks += 1
                tally.chunk_bytes.append(len(chunk.pcm))
                # A chunk the voice-activity detector found no speech in is not worth a recogniser call.
                task = asyncio.ensure_future(pool.recognize(chunk)) if chunk.speech_s > 0 else None
                in_flight.append((chunk, task))
            if not in_flight:
                break
            chunk, task = in_flight.popleft()
            result, cpu = (await task) if task is not None else (ChunkResult(()), 0.0)
            tally.recognized_chunks += task is not None
            tally.cpu_seconds += cpu
            tally.done_s += chunk.duration_s
            results.append((chunk.start_s, result))
            del chunk  # hold no audio longer than needed
            if on_progress is not None and reader.total_s > 0:
                on_progress(tally.done_s / reader.total_s)
    finally:
        for _, pending in in_flight:
            if pending is None:
                continue
            if not pending.done():
                pending.cancel()
            elif not pending.cancelled():
                pending.exception()  # retrieved, so asyncio does not log a second failure as unhandled
        reading.submit(reader.close)
        reading.shutdown(wait=False)
        tally.peak_buffered_bytes = reader.peak_buffered_bytes
        tally.wall_seconds = time.perf_counter() - started
    segments: list[Segment] = [s.shifted(start) for start, r in results for s in r.segments]
    return Transcript(tuple(segments), _language(results, fallback_language))
