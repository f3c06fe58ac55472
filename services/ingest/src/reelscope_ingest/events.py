"""Ingest owns job state: this consumer applies every stage event to the store and counts finished
jobs. It runs inside the job's trace (the consumer span is the producer's child), so the job-duration
histogram's exemplars point straight at the job's trace."""

from collections.abc import Awaitable, Callable

from reelscope_contracts import JobEvent
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_ingest.core.store import JobStore

log = get_logger(__name__)


def event_handler(store: JobStore, telemetry: Telemetry) -> Callable[[JobEvent], Awaitable[None]]:
    """Build the handler for the `reelscope.ingest.events` queue."""

    async def handle(event: JobEvent) -> None:
        transition = await store.apply(event)
        log.info("job event recorded", event_kind=event.kind)
        if transition.job_finished is not None:
            outcome = {attributes.JOB_OUTCOME: transition.job_finished.value}
            telemetry.instruments.jobs_finished.add(1, outcome)
            if transition.duration_s is not None:
                telemetry.instruments.job_duration.record(transition.duration_s, outcome)
            log.info("job finished", status=transition.job_finished.value, duration_s=transition.duration_s)

    return handle
