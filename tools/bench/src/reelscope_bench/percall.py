"""Per-call cost of something that takes microseconds: many calls per timed batch, the median batch wins.

One call is too short to time on its own (the clock read costs about as much); a batch of a few thousand calls
is long enough, and the median of several batches ignores the one a GC pause or the export thread landed on.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PerCall:
    """Wall µs per call: the median batch's, and the fastest and slowest batch for the spread."""

    median_us: float
    min_us: float
    max_us: float
    calls_per_batch: int
    batches: int
    warmup: int = 0
    cpu_us: float | None = None
    """The median batch's process CPU time per call (all threads), when measured."""

    def emitted(self) -> int:
        """Calls made in all, untimed warm-up included (what an exporter should have received)."""
        return self.warmup + self.calls_per_batch * self.batches

    def figures(self) -> dict[str, float | int]:
        return {
            "us_per_call": round(self.median_us, 3),
            **({"cpu_us_per_call": round(self.cpu_us, 3)} if self.cpu_us is not None else {}),
            "min_us": round(self.min_us, 3),
            "max_us": round(self.max_us, 3),
            "calls_per_batch": self.calls_per_batch,
            "batches": self.batches,
        }


def per_call(batch_ns: list[int], calls_per_batch: int) -> PerCall:
    """Turn the durations (ns) of equal batches of `calls_per_batch` calls into µs per call."""
    if not batch_ns or calls_per_batch <= 0:
        raise ValueError("need at least one batch of at least one call")
    per_call_us = [ns / calls_per_batch / 1000 for ns in batch_ns]
    return PerCall(
        median_us=statistics.median(per_call_us),
        min_us=min(per_call_us),
        max_us=max(per_call_us),
        calls_per_batch=calls_per_batch,
        batches=len(batch_ns),
    )


def measure(call: Callable[[], object], *, calls: int = 2000, batches: int = 9, warmup: int = 500) -> PerCall:
    """Time `batches` batches of `calls` calls of `call` (after `warmup` untimed calls): wall time, and the
    process's CPU time (every thread's, the exporters' included), which other processes on a busy machine
    disturb far less than the wall clock."""
    for _ in range(warmup):
        call()
    durations: list[int] = []
    cpu: list[int] = []
    for _ in range(batches):
        start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
        for _ in range(calls):
            call()
        durations.append(time.perf_counter_ns() - start)
        cpu.append(time.process_time_ns() - start_cpu)
    cpu_us = statistics.median(cpu) / calls / 1000
    return replace(per_call(durations, calls), warmup=warmup, cpu_us=cpu_us)


@contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Send file descriptor 1 (and so `sys.stdout`) to /dev/null for the block, then restore it: the log lines
    are still written, by the same syscalls, but no terminal or pipe reader adds its cost to the figure."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
