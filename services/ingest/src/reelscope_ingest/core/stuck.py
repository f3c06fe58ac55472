"""The stuck-job detector: a job whose worker vanished must not stay `processing` forever.

Every `REELSCOPE_STUCK_CHECK_INTERVAL_S` it fails each job that has a stage running but no recorded
activity (stage event, progress) for `REELSCOPE_STUCK_JOB_TIMEOUT_S`, counts it, and publishes `job.failed`
so the owner is told. A job waiting in a queue is never failed here: a backlog is not a dead worker (the
1000-job fault run queued jobs for ten minutes), and queue depth has its own metrics and alerts.

Replicas may all run it: the store claims each job with a conditional UPDATE, so only one of them fails
and announces a given job. The failed job is terminal, so a late event
of its vanished worker changes nothing; a storage cancel marker also makes a redelivered or resumed stage
skip the job instead of producing outputs (and a second notification) for it."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry.trace import StatusCode
from reelscope_contracts import JobKeys
from reelscope_messaging import Broker, PublishFailed
from reelscope_storage import Storage, StorageError
from reelscope_telemetry import Telemetry, attributes, get_logger, job_scope

from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.store import JobStore, StuckJob
from reelscope_ingest.events import record_finished

log = get_logger(__name__)


@dataclass(frozen=True)
class StuckJobDetector:
    """Finds and fails stuck jobs; `run()` is the periodic task, `sweep()` one pass."""

    store: JobStore
    broker: Broker
    storage: Storage
    telemetry: Telemetry
    settings: IngestSettings

    async def run(self) -> None:
        """Sweep every `stuck_check_interval_s` until cancelled; a failing sweep (database down) is logged and
        the next one tries again."""
        while True:
            await asyncio.sleep(self.settings.stuck_check_interval_s)
            try:
                await self.sweep()
            except Exception as exc:  # keep the detector alive whatever one pass ran into
                log.exception("stuck-job sweep failed", error=f"{type(exc).__name__}: {exc}")

    async def sweep(self) -> list[StuckJob]:
        """Fail every job idle for longer than the deadline, and return what this replica failed."""
        timeout_s = self.settings.stuck_job_timeout_s
        cutoff = datetime.now(UTC) - timedelta(seconds=timeout_s)
        failed: list[StuckJob] = []
        for job_id in await self.store.idle_jobs(cutoff):
            with job_scope(job_id):
                stuck = await self.store.fail_stuck(job_id, cutoff, timeout_s)
                if stuck is not None:  # None: it moved on meanwhile, or another replica failed it
                    await self._announce(stuck)
                    failed.append(stuck)
        return failed

    async def _announce(self, stuck: StuckJob) -> None:
        failure = stuck.failure
        stage = failure.stage.value
        with self.telemetry.tracer.start_as_current_span("stuck-job detector: fail job") as span:
            span.set_attributes({attributes.STAGE: stage, attributes.FAILURE_REASON: failure.reason})
            span.set_status(StatusCode.ERROR, failure.reason)
            log.warning("stuck job failed", stage=stage, reason=failure.reason)
            self.telemetry.instruments.stuck_jobs.add(1, {attributes.STAGE: stage})
            record_finished(stuck.transition, self.telemetry, self.settings)
            try:
                await self.storage.put_bytes(JobKeys(failure.job_id).cancel_marker, b"failed: stuck\n")
            except StorageError as exc:
                log.warning("stuck job's stop marker not stored", error=str(exc))
            if not self.broker.is_connected:
                log.error("stuck job failed, but its owner could not be told: broker unavailable")
                return
            try:
                await self.broker.publish(failure)
            except PublishFailed as exc:
                log.error("stuck job failed, but its owner could not be told", error=str(exc))
