"""The flag file: flagd's format, a round trip through set/read, and precise refusals."""

import json
from pathlib import Path

import pytest
from reelscope_flags import CATALOG, FlagFileError, ensure_flag_file, read_flag_values, set_flag
from reelscope_flags.flagfile import SCHEMA

pytestmark = pytest.mark.unit


def test_new_file_is_flagd_format_with_every_flag_off(tmp_path: Path) -> None:
    """`ensure_flag_file` writes a flagd document: every catalog flag, variants off/on, default variant off."""
    path = tmp_path / "run" / "flags.json"
    ensure_flag_file(path)
    document = json.loads(path.read_text())
    assert document["$schema"] == SCHEMA
    assert set(document["flags"]) == set(CATALOG)
    for name, entry in document["flags"].items():
        assert entry["state"] == "ENABLED"
        assert entry["defaultVariant"] == "off"
        assert entry["variants"]["off"] == CATALOG[name].off
    assert read_flag_values(path) == {name: spec.off for name, spec in CATALOG.items()}


def test_ensure_keeps_an_existing_file(tmp_path: Path) -> None:
    """A second `ensure_flag_file` (the next `up`) keeps flags that were set."""
    path = tmp_path / "flags.json"
    set_flag(path, "webhookTargetFailing", "true")
    ensure_flag_file(path)
    assert read_flag_values(path)["webhookTargetFailing"] is True


def test_set_then_read_round_trip_and_off_resets(tmp_path: Path) -> None:
    """Values set are read back typed; "off" puts the off value back; other flags are untouched."""
    path = tmp_path / "flags.json"
    assert set_flag(path, "transcodeFailureRate", "0.5") == 0.5
    assert set_flag(path, "ingestAddedLatencyMs", "250") == 250
    values = read_flag_values(path)
    assert values["transcodeFailureRate"] == 0.5
    assert values["ingestAddedLatencyMs"] == 250
    assert isinstance(values["ingestAddedLatencyMs"], int)
    entry = json.loads(path.read_text())["flags"]["transcodeFailureRate"]
    assert entry == {"state": "ENABLED", "variants": {"off": 0.0, "on": 0.5}, "defaultVariant": "on"}
    set_flag(path, "transcodeFailureRate", "off")
    values = read_flag_values(path)
    assert values["transcodeFailureRate"] == 0.0
    assert values["ingestAddedLatencyMs"] == 250
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed, never left behind"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("noSuchFlag", "1", "unknown flag 'noSuchFlag'; known flags: transcodeFailureRate"),
        ("transcodeFailureRate", "1.5", "transcodeFailureRate must be 0..1, got 1.5"),
        ("transcodeFailureRate", "lots", "transcodeFailureRate is a number (0..1) or off, not 'lots'"),
        ("transcriptionSlowdownFactor", "0.5", "transcriptionSlowdownFactor must be 1..1000"),
        ("ingestAddedLatencyMs", "-1", "ingestAddedLatencyMs must be 0..60000"),
        ("transcodeMemoryLeakMbPerJob", "1.5", "transcodeMemoryLeakMbPerJob is a whole number"),
        ("webhookTargetFailing", "maybe", "webhookTargetFailing is a bool: give true, false or off"),
    ],
)
def test_bad_names_and_values_are_refused_and_file_unchanged(tmp_path: Path, name: str, raw: str, message: str) -> None:
    """An unknown flag or a value outside the catalog's range is refused with a message naming both."""
    path = tmp_path / "flags.json"
    ensure_flag_file(path)
    before = path.read_text()
    with pytest.raises(FlagFileError) as refused:
        set_flag(path, name, raw)
    assert message in str(refused.value)
    assert path.read_text() == before


def test_corrupt_file_is_a_precise_error(tmp_path: Path) -> None:
    """Reading a file that is not JSON names the file instead of raising a bare decode error."""
    path = tmp_path / "flags.json"
    path.write_text("{not json")
    with pytest.raises(FlagFileError, match="cannot read the flag file"):
        read_flag_values(path)
