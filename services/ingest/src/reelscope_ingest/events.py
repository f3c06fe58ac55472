"""Ingest owns job state: this consumer applies every stage event to the store and counts finished
jobs. It runs inside the job's trace (the consumer span is the producer's child), so the job-duration
and job-cost histograms' exemplars point straight at the job's trace."""

from collections.abc import Awaitable, Callable

from reelscope_contracts import FailureCategory, JobEvent, StageProgress
from reelscope_contracts.topology import INGEST_EVENTS
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.store import JobStore, Transition
from reelscope_ingest.core.transitions import TERMINAL, JobStatus

log = get_logger(__name__)


def start_job_counters_at_zero(telemetry: Telemetry) -> None:
    """Export every series of the finished-jobs counter at 0 from start-up. Prometheus's `rate()` cannot see
    the increment a series is born with (there is no earlier sample), so on a quiet pipeline the first failures
    would be invisible to ReelscopeJobFailureRatioHigh and the success SLO. The set is small and fixed: each
    outcome, and each failure category for `failed` (the attributes `record_finished` uses)."""
    counter = telemetry.instruments.jobs_finished
    for status in TERMINAL - {JobStatus.FAILED}:
        counter.add(0, {attributes.JOB_OUTCOME: status.value})
    for category in FailureCategory:
        counter.add(0, {attributes.JOB_OUTCOME: JobStatus.FAILED.value, attributes.FAILURE_CATEGORY: category.value})
    counter.add(0, {attributes.JOB_OUTCOME: JobStatus.FAILED.value})


def record_finished(transition: Transition, telemetry: Telemetry, settings: IngestSettings) -> None:
    """Count a job that just reached a final state: outcome, duration and estimated cost."""
    if transition.job_finished is None:
        return
    outcome = {attributes.JOB_OUTCOME: transition.job_finished.value}
    counted = outcome | (
        {attributes.FAILURE_CATEGORY: transition.failure_category} if transition.failure_category else {}
    )
    telemetry.instruments.jobs_finished.add(1, counted)
    if transition.duration_s is not None:
        telemetry.instruments.job_duration.record(transition.duration_s, outcome)
    cost = transition.cpu_seconds / 3600 * settings.cpu_hour_price
    telemetry.instruments.job_cost.record(cost, {attributes.COST_CURRENCY: settings.cost_currency})
    log.info(
        "job finished",
        status=transition.job_finished.value,
        duration_s=transition.duration_s,
        cpu_s=round(transition.cpu_seconds, 3),
        cost=cost,
    )


def event_handler(
    store: JobStore, telemetry: Telemetry, settings: IngestSettings
) -> Callable[[JobEvent], Awaitable[None]]:
    """Build the handler for the `reelscope.ingest.events` queue."""

    async def handle(event: JobEvent) -> None:
        transition = await store.apply(event)
        if transition.duplicate:
            # Redelivered or late: acked and counted, never applied twice (progress hints are just dropped).
            if isinstance(event, StageProgress):
                log.debug("late progress ignored", stage=event.stage.value, event_kind=event.kind)
                return
            telemetry.instruments.duplicates_skipped.add(1, {attributes.QUEUE: INGEST_EVENTS.name})
            log.info("duplicate or late event ignored", event_kind=event.kind)
            return
        if isinstance(event, StageProgress):
            log.debug("progress recorded", stage=event.stage.value, percent=event.percent)
            return
        log.info("job event recorded", event_kind=event.kind)
        record_finished(transition, telemetry, settings)

    return handle
