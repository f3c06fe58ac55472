"""The recogniser processes: a spawn-context process pool that is rebuilt when one of its processes dies."""

import asyncio
import concurrent.futures
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from reelscope_telemetry import get_logger

from reelscope_transcription.audio import AudioChunk
from reelscope_transcription.engines.base import ChunkRecognizer, timed_recognize
from reelscope_transcription.exceptions import EngineUnavailable, RecognitionFailed
from reelscope_transcription.transcript import ChunkResult

log = get_logger(__name__)


class RecognizerPool:
    """Runs `recognizer` on chunks in `workers` separate processes (one chunk per process at a time)."""

    def __init__(self, recognizer: ChunkRecognizer, workers: int) -> None:
        self.recognizer = recognizer
        self.workers = workers
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # `spawn`, not fork: the parent holds exporter threads and sockets a forked child must not inherit.
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=self.recognizer.warm_up
        )

    async def recognize(self, chunk: AudioChunk) -> tuple[ChunkResult, float]:
        """The chunk's result and the CPU seconds the recogniser process spent on it.

        If the awaiting task is cancelled, a chunk still queued is dropped; one already running in a pool
        process runs to its end there (a process cannot be interrupted mid-chunk without killing it), and
        its result is discarded.
        """
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, timed_recognize, self.recognizer, chunk)
        except BrokenProcessPool as exc:
            if executor is self._executor:
                log.warning("recogniser process died; starting a new pool")
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
            raise RecognitionFailed(
                f"the recogniser process died on the chunk at {chunk.start_s:.1f} s (killed, or out of memory)"
            ) from exc
        except Exception as exc:  # anything the engine raised, re-raised here by the pool
            raise RecognitionFailed(
                f"the recogniser failed on the chunk at {chunk.start_s:.1f} s: {type(exc).__name__}: {exc}"
            ) from exc

    def warm(self) -> None:
        """Start the pool processes now and wait until they are up (each loads the model first), so the
        first job does not pay for it. Blocking: call it at start-up, or in a thread."""
        started = [self._executor.submit(int) for _ in range(self.workers)]
        concurrent.futures.wait(started)
        for future in started:
            if (exc := future.exception()) is not None:
                raise EngineUnavailable(f"the recogniser processes could not start: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
