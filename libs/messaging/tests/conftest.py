"""Fixtures of the messaging tests (the `broker` fixture lives in the root conftest)."""

from collections.abc import Iterator

import pytest
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    """In-memory telemetry for one test."""
    with capture_telemetry("messaging-test") as captured:
        yield captured
