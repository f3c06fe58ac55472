"""Every failure flag in one place: its type, off value, valid range, what it does and which service reads it.

The flag file, the CLI and the services' typed getters all read this catalog, so a flag cannot be set to a value
its reader would not understand, and `reelscope flags list` can say who is affected."""

from dataclasses import dataclass
from enum import StrEnum

FlagValue = bool | int | float


class FlagKind(StrEnum):
    """How a flag's value is typed (and which OpenFeature getter reads it)."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"


@dataclass(frozen=True)
class Flag:
    """One flag: `off` is its value when nobody has turned it on; `minimum`/`maximum` bound a number."""

    name: str
    kind: FlagKind
    off: FlagValue
    description: str
    read_by: str
    minimum: float | None = None
    maximum: float | None = None

    def validate(self, value: FlagValue) -> FlagValue:
        """`value` as this flag's type, or `ValueError` saying what is allowed."""
        if self.kind is FlagKind.BOOL:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} is a bool (true/false), got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.name} is a number ({self.range_text()}), got {value!r}")
        if self.kind is FlagKind.INT and not float(value).is_integer():
            raise ValueError(f"{self.name} is a whole number ({self.range_text()}), got {value!r}")
        number: FlagValue = int(value) if self.kind is FlagKind.INT else float(value)
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise ValueError(f"{self.name} must be {self.range_text()}, got {value!r}")
        return number

    def range_text(self) -> str:
        """The valid range in words, for error messages and the docs."""
        if self.kind is FlagKind.BOOL:
            return "true or false"
        low = "" if self.minimum is None else f"{self.minimum:g}"
        high = "" if self.maximum is None else f"{self.maximum:g}"
        if low and high:
            return f"{low}..{high}"
        return f">= {low}" if low else f"<= {high}"


TRANSCODE_FAILURE_RATE = "transcodeFailureRate"
TRANSCRIPTION_SLOWDOWN_FACTOR = "transcriptionSlowdownFactor"
WEBHOOK_TARGET_FAILING = "webhookTargetFailing"
POISON_MESSAGE_RATE = "poisonMessageRate"
INGEST_ADDED_LATENCY_MS = "ingestAddedLatencyMs"
TRANSCODE_MEMORY_LEAK_MB_PER_JOB = "transcodeMemoryLeakMbPerJob"

CATALOG: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        Flag(
            TRANSCODE_FAILURE_RATE, FlagKind.FLOAT, 0.0,
            "probability that a transcode job fails (a failed job with an 'injected failure' reason)",
            "transcode", 0.0, 1.0,
        ),
        Flag(
            TRANSCRIPTION_SLOWDOWN_FACTOR, FlagKind.FLOAT, 1.0,
            "transcription takes this many times longer (waits after recognising)",
            "transcription", 1.0, 1000.0,
        ),
        Flag(
            WEBHOOK_TARGET_FAILING, FlagKind.BOOL, False,
            "every webhook delivery attempt fails as a 503 (retried, then parked)",
            "notification",
        ),
        Flag(
            POISON_MESSAGE_RATE, FlagKind.FLOAT, 0.0,
            "probability that ingest publishes an extra undecodable message beside a job's (parked by transcode)",
            "ingest", 0.0, 1.0,
        ),
        Flag(
            INGEST_ADDED_LATENCY_MS, FlagKind.INT, 0,
            "milliseconds added to every /v1 request",
            "ingest", 0, 60_000,
        ),
        Flag(
            TRANSCODE_MEMORY_LEAK_MB_PER_JOB, FlagKind.INT, 0,
            "MiB the transcode worker keeps per job: a slow memory growth",
            "transcode", 0, 1024,
        ),
    )
}  # fmt: skip


def flag(name: str) -> Flag:
    """The catalog entry for `name`, or `KeyError` listing the known flags."""
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"unknown flag {name!r}; known flags: {', '.join(CATALOG)}") from None
