"""Test seams: real flags from a real flag file, with OpenFeature's global state cleared afterwards."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reelscope_flags.client import FeatureFlags, FlagSettings
from reelscope_flags.flagfile import ensure_flag_file, set_flag


@contextmanager
def file_flags(path: Path, **values: str) -> Iterator[FeatureFlags]:
    """`FeatureFlags` read by the flagd file provider from `path` (polled every 50 ms), set to `values` first."""
    ensure_flag_file(path)
    for name, raw in values.items():
        set_flag(path, name, raw)
    flags = FeatureFlags.start(FlagSettings(flags_file=path, flags_poll_ms=50))
    try:
        yield flags
    finally:
        FeatureFlags.stop()
