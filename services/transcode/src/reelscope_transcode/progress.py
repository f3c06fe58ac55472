"""Parse `ffmpeg -progress pipe:1` output as it arrives.

ffmpeg writes blocks of `key=value` lines, each closed by `progress=continue` (about twice a second) or
`progress=end` (once, at the end). The parser is fed one line at a time and keeps only the fields of the
block being read, so memory stays flat however long the encode runs.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

_CLOCK = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")
_KEPT = frozenset({"out_time_us", "out_time", "speed", "frame"})


@dataclass(frozen=True)
class ProgressBlock:
    """One progress report: how far the output is, and whether ffmpeg says it is done."""

    out_time_s: float | None
    speed: float | None
    frame: int | None
    ended: bool

    def fraction(self, duration_s: float | None) -> float | None:
        """Share of `duration_s` done, within [0, 1]; None without a duration or a time."""
        if self.ended:
            return 1.0
        if not duration_s or self.out_time_s is None:
            return None
        return min(1.0, max(0.0, self.out_time_s / duration_s))


def _out_time(fields: dict[str, str]) -> float | None:
    micros = fields.get("out_time_us", "")
    if micros.lstrip("-").isdigit():
        value = int(micros)
        return value / 1_000_000 if value >= 0 else None
    match = _CLOCK.match(fields.get("out_time", ""))
    if match is None:  # "N/A", or a negative clock before the first packet
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _number(text: str | None, suffix: str = "") -> float | None:
    if not text:
        return None
    try:
        return float(text.removesuffix(suffix))
    except ValueError:
        return None


class ProgressParser:
    """Feed lines; a finished block comes back from `feed` and goes to `on_block`, if given."""

    def __init__(self, on_block: Callable[[ProgressBlock], None] | None = None) -> None:
        self._fields: dict[str, str] = {}
        self._on_block = on_block
        self.last: ProgressBlock | None = None

    def feed(self, line: str) -> ProgressBlock | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        if key != "progress":
            if key in _KEPT:
                self._fields[key] = value.strip()
            return None
        frame = _number(self._fields.get("frame"))
        block = ProgressBlock(
            out_time_s=_out_time(self._fields),
            speed=_number(self._fields.get("speed"), "x"),
            frame=int(frame) if frame is not None else None,
            ended=value.strip() == "end",
        )
        self._fields = {}
        self.last = block
        if self._on_block is not None:
            self._on_block(block)
        return block
