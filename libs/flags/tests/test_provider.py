"""FeatureFlags through the real flagd file provider: live reload, trace events, and off on any trouble."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from reelscope_flags import FeatureFlags, FlagSettings, set_flag
from reelscope_flags.testing import file_flags
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry

pytestmark = pytest.mark.unit


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    with capture_telemetry("flags-test") as captured:
        yield captured


def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_set_flag_is_seen_without_restart(tmp_path: Path) -> None:
    """A running provider picks up `set_flag` (an os.replace'd file) within seconds, both ways."""
    path = tmp_path / "flags.json"
    with file_flags(path) as flags:
        assert flags.rate("transcodeFailureRate") == 0.0
        set_flag(path, "transcodeFailureRate", "0.25")
        assert eventually(lambda: flags.rate("transcodeFailureRate") == 0.25)
        set_flag(path, "webhookTargetFailing", "true")
        assert eventually(lambda: flags.enabled("webhookTargetFailing"))
        set_flag(path, "transcodeFailureRate", "off")
        assert eventually(lambda: flags.rate("transcodeFailureRate") == 0.0)
        assert flags.enabled("webhookTargetFailing")


def test_evaluation_is_a_span_event_on_the_current_span(tmp_path: Path, telemetry: CapturedTelemetry) -> None:
    """Each evaluation adds a `feature_flag.evaluation` event with the semantic-convention attributes."""
    path = tmp_path / "flags.json"
    with (
        file_flags(path, ingestAddedLatencyMs="120") as flags,
        telemetry.telemetry.tracer.start_as_current_span("work"),
    ):
        assert flags.integer("ingestAddedLatencyMs") == 120
    (span,) = [s for s in telemetry.spans() if s.name == "work"]
    (event,) = [e for e in span.events if e.name == "feature_flag.evaluation"]
    attributes = dict(event.attributes or {})
    assert attributes["feature_flag.key"] == "ingestAddedLatencyMs"
    assert json.loads(str(attributes["feature_flag.result.value"])) == 120
    assert attributes["feature_flag.result.variant"] == "on"
    assert attributes["feature_flag.provider.name"] == "FlagdProvider"


def test_missing_file_reads_off_then_recovers(tmp_path: Path) -> None:
    """Start-up with no flag file neither blocks nor fails: flags are off, and are read once the file appears."""
    path = tmp_path / "flags.json"
    started = time.monotonic()
    flags = FeatureFlags.start(FlagSettings(flags_file=path, flags_poll_ms=50))
    try:
        assert time.monotonic() - started < 2
        assert flags.rate("transcodeFailureRate") == 0.0
        assert flags.factor("transcriptionSlowdownFactor") == 1.0
        set_flag(path, "transcriptionSlowdownFactor", "3")
        assert eventually(lambda: flags.factor("transcriptionSlowdownFactor") == 3.0)
    finally:
        FeatureFlags.stop()


def test_corrupt_or_out_of_range_values_read_off(tmp_path: Path) -> None:
    """A corrupt file at start-up, or a hand-edited value outside the catalog's range, reads as off."""
    path = tmp_path / "flags.json"
    path.write_text("{corrupt")
    flags = FeatureFlags.start(FlagSettings(flags_file=path, flags_poll_ms=50))
    try:
        assert flags.rate("transcodeFailureRate") == 0.0
        assert flags.enabled("webhookTargetFailing") is False
    finally:
        FeatureFlags.stop()
    document = {
        "flags": {"transcodeFailureRate": {"state": "ENABLED", "variants": {"on": 7.0}, "defaultVariant": "on"}}
    }
    path.write_text(json.dumps(document))
    with file_flags(path) as flags:
        assert flags.rate("transcodeFailureRate") == 0.0


def test_no_source_means_every_flag_off() -> None:
    """With neither a file nor a flagd server, the no-op provider answers and every flag is off."""
    flags = FeatureFlags.start(FlagSettings())
    try:
        assert flags.rate("poisonMessageRate") == 0.0
        assert flags.integer("transcodeMemoryLeakMbPerJob") == 0
        assert flags.roll("poisonMessageRate") is None
    finally:
        FeatureFlags.stop()
