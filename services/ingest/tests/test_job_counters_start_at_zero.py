"""Every series of the finished-jobs counter exists at 0 from start-up, so Prometheus's rate() sees a quiet
pipeline's first failure (a series born with its first increment has no earlier sample to compare with)."""

from types import SimpleNamespace

import pytest
from reelscope_contracts import FailureCategory
from reelscope_ingest.core.transitions import JobStatus, Transition
from reelscope_ingest.events import record_finished, start_job_counters_at_zero
from reelscope_telemetry import attributes
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.unit


def _series(telemetry: CapturedTelemetry) -> dict[tuple[str, str | None], float]:
    return {
        (p.attributes[attributes.JOB_OUTCOME], p.attributes.get(attributes.FAILURE_CATEGORY)): p.value
        for p in telemetry.metric_points("reelscope.jobs.finished")
    }


def test_every_outcome_and_failure_category_starts_at_zero(telemetry: CapturedTelemetry) -> None:
    start_job_counters_at_zero(telemetry.telemetry)
    series = _series(telemetry)
    assert series[("completed", None)] == 0
    assert series[("cancelled", None)] == 0
    assert {category for outcome, category in series if outcome == "failed"} == {
        *(c.value for c in FailureCategory),
        None,
    }
    assert set(series.values()) == {0}


def test_a_failure_then_counts_on_its_zero_series(telemetry: CapturedTelemetry) -> None:
    start_job_counters_at_zero(telemetry.telemetry)
    transition = Transition(job_finished=JobStatus.FAILED, failure_category=FailureCategory.PROCESSING_ERROR.value)
    pricing = SimpleNamespace(cpu_hour_price=0.05, cost_currency="USD")  # what record_finished reads
    record_finished(transition, telemetry.telemetry, pricing)  # type: ignore[arg-type]
    series = _series(telemetry)
    assert series[("failed", "processing_error")] == 1
    assert sum(series.values()) == 1
