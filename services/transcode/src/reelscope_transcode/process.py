"""Media tools as child processes that cannot outlive their job.

Every run has a wall-clock limit; on overrun, on cancellation of the job and on any error the child gets
SIGTERM, then SIGKILL after a short grace, and is reaped before the exception goes on. Output is read as
it comes: stdout line by line (ffmpeg's progress) or bounded (ffprobe's JSON), stderr concurrently with
only its tail kept for the failure reason. Nothing is ever buffered whole.
"""

import asyncio
import contextlib
import resource
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from reelscope_telemetry import get_logger

log = get_logger(__name__)

STDERR_TAIL_LINES = 12
MAX_LINE_CHARS = 400


class ToolTimedOut(Exception):
    """The tool ran past its wall-clock limit and was stopped."""

    def __init__(self, tool: str, limit_s: float) -> None:
        super().__init__(f"{tool} ran longer than its {limit_s:.0f} s limit and was stopped")
        self.limit_s = limit_s


class OutputTooLarge(Exception):
    """The tool wrote more to stdout than the caller allows (a hostile file can make ffprobe very chatty)."""


@dataclass(frozen=True)
class Finished:
    """How a tool ended."""

    returncode: int
    stdout: bytes
    """Captured stdout (empty when it was consumed line by line)."""
    stderr_tail: tuple[str, ...]

    def reason(self) -> str:
        """The most telling stderr lines, for a human-readable failure reason."""
        return " | ".join(self.stderr_tail[-3:]) or f"exit status {self.returncode}, no error output"


def children_cpu_s() -> float:
    """CPU seconds (user + system) of every child this process has reaped so far.

    The difference around a job is that job's tool CPU time as long as the worker runs one job at a time
    (prefetch 1, the default): with more, concurrent jobs' tools would be counted in each other's figures."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes(pid: int) -> int | None:
    """Peak resident memory of a running process (Linux `VmHWM`); None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


async def stop(process: asyncio.subprocess.Process, grace_s: float) -> None:
    """SIGTERM, wait up to `grace_s`, SIGKILL; always reaps. Safe to call on a process that already ended."""
    if process.returncode is not None:
        return
    try:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    except asyncio.CancelledError:
        # Cancelled again while stopping: never leave the child running.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        raise


async def lines(stream: asyncio.StreamReader) -> AsyncIterator[str]:
    """Decoded lines of `stream`, each cut to `MAX_LINE_CHARS`; over-long lines are skipped, never buffered."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line beyond the reader's limit: asyncio drops it
            continue
        if not raw:
            return
        yield raw.decode("utf-8", errors="replace").rstrip()[:MAX_LINE_CHARS]


async def _tail(stream: asyncio.StreamReader) -> tuple[str, ...]:
    kept: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    async for line in lines(stream):
        line = line.strip()
        if line and not line.startswith("Last message repeated"):
            kept.append(line)
    return tuple(kept)


async def _read_bounded(stream: asyncio.StreamReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := await stream.read(65536):
        total += len(chunk)
        if total > limit:
            raise OutputTooLarge(f"more than {limit:,} bytes of output")
        chunks.append(chunk)
    return b"".join(chunks)


async def run_tool(
    argv: list[str],
    *,
    timeout_s: float,
    grace_s: float,
    cwd: Path | None = None,
    on_line: Callable[[str], object] | None = None,
    max_stdout: int = 4 * 1024 * 1024,
    on_start: Callable[[int], None] | None = None,
) -> Finished:
    """Run `argv` to completion within `timeout_s`. With `on_line`, stdout is handed over line by line
    (and not captured); otherwise it is captured up to `max_stdout` bytes. `on_start` gets the pid."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    if on_start is not None:
        on_start(process.pid)
    tool = Path(argv[0]).name
    try:
        async with asyncio.timeout(timeout_s) as deadline:
            stderr_task = asyncio.create_task(_tail(process.stderr))
            try:
                if on_line is None:
                    stdout = await _read_bounded(process.stdout, max_stdout)
                else:
                    stdout = b""
                    async for line in lines(process.stdout):
                        on_line(line)
                returncode = await process.wait()
                stderr_tail = await stderr_task
            finally:
                stderr_task.cancel()
    except TimeoutError:
        await stop(process, grace_s)
        if deadline.expired():
            log.warning("media tool stopped at its time limit", tool=tool, limit_s=timeout_s)
            raise ToolTimedOut(tool, timeout_s) from None
        raise
    except BaseException:
        await stop(process, grace_s)
        raise
    return Finished(returncode, stdout, stderr_tail)
