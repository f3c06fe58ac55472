"""Failure flags: a catalog, the flagd flag file the CLI edits, and the OpenFeature client services read."""

from reelscope_flags.catalog import (
    CATALOG,
    INGEST_ADDED_LATENCY_MS,
    POISON_MESSAGE_RATE,
    TRANSCODE_FAILURE_RATE,
    TRANSCODE_MEMORY_LEAK_MB_PER_JOB,
    TRANSCRIPTION_SLOWDOWN_FACTOR,
    WEBHOOK_TARGET_FAILING,
    Flag,
    FlagKind,
    FlagValue,
)
from reelscope_flags.client import FeatureFlags, FlagSettings
from reelscope_flags.flagfile import FlagFileError, ensure_flag_file, read_flag_values, set_flag

__all__ = [
    "CATALOG",
    "INGEST_ADDED_LATENCY_MS",
    "POISON_MESSAGE_RATE",
    "TRANSCODE_FAILURE_RATE",
    "TRANSCODE_MEMORY_LEAK_MB_PER_JOB",
    "TRANSCRIPTION_SLOWDOWN_FACTOR",
    "WEBHOOK_TARGET_FAILING",
    "FeatureFlags",
    "Flag",
    "FlagFileError",
    "FlagKind",
    "FlagSettings",
    "FlagValue",
    "ensure_flag_file",
    "read_flag_values",
    "set_flag",
]
