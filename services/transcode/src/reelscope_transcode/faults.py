"""Faults injected on purpose through failure flags (`reelscope flags set ...`): a job failure rate and a slow
memory growth, so dashboards and alerts can be watched reacting to them. All off unless a flag is set."""

from dataclasses import dataclass, field

from reelscope_contracts import FailureCategory
from reelscope_flags import TRANSCODE_FAILURE_RATE, TRANSCODE_MEMORY_LEAK_MB_PER_JOB, FeatureFlags
from reelscope_messaging import StageFailed
from reelscope_telemetry import get_logger

log = get_logger(__name__)

MIB = 1024 * 1024
PAGE = 4096


@dataclass
class InjectedFaults:
    """One per worker: it owns the memory kept by `transcodeMemoryLeakMbPerJob` (freed with the worker)."""

    flags: FeatureFlags
    kept: list[bytearray] = field(default_factory=list)

    @property
    def kept_bytes(self) -> int:
        """Bytes held on purpose so far."""
        return sum(len(block) for block in self.kept)

    def before_job(self) -> None:
        """Keep this job's share of leaked memory; raise `StageFailed` when the failure rate's draw hits."""
        leak_mib = self.flags.integer(TRANSCODE_MEMORY_LEAK_MB_PER_JOB)
        if leak_mib > 0:
            block = bytearray(leak_mib * MIB)
            block[::PAGE] = b"\x01" * len(range(0, len(block), PAGE))  # touch every page: resident, not just mapped
            self.kept.append(block)
            log.warning(
                "injected memory growth", flag=TRANSCODE_MEMORY_LEAK_MB_PER_JOB, kept_mib=self.kept_bytes // MIB
            )
        rate = self.flags.roll(TRANSCODE_FAILURE_RATE)
        if rate is not None:
            raise StageFailed(
                f"injected failure (flag {TRANSCODE_FAILURE_RATE}={rate:g})", FailureCategory.PROCESSING_ERROR
            )
