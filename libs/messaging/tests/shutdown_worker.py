"""A tiny worker for the graceful-shutdown tests, run as a real process through `run_worker`.

`python shutdown_worker.py QUEUE JOURNAL HANDLER_S`: consumes `job.submitted` from QUEUE; for each job it
writes `start <id>` to JOURNAL, sleeps HANDLER_S, publishes `job.completed` and writes `end <id>` (or
`cancelled <id>` when its task is cancelled). Settings come from `REELSCOPE_*` like any worker's."""

import asyncio
import sys
from pathlib import Path

from reelscope_contracts import JobCompleted, JobEvent, QueueSpec, RoutingKey, StageName
from reelscope_messaging import FailurePolicy, Handler, WorkerContext, WorkerSettings, WorkerSpec, run_worker


def _note(journal: Path, line: str) -> None:
    with journal.open("a") as handle:
        handle.write(line + "\n")


def main() -> None:
    queue, journal, handler_s = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])

    def factory(ctx: WorkerContext) -> Handler:
        async def handle(event: JobEvent) -> None:
            _note(journal, f"start {event.job_id}")
            try:
                await asyncio.sleep(handler_s)
            except asyncio.CancelledError:
                _note(journal, f"cancelled {event.job_id}")
                raise
            await ctx.broker.publish(JobCompleted(job_id=event.job_id, transcript=None))
            _note(journal, f"end {event.job_id}")

        return handle

    spec = WorkerSpec(
        "shutdown-test-worker", QueueSpec(queue, (RoutingKey.SUBMITTED,)), StageName.TRANSCODE, FailurePolicy.FAIL_JOB
    )
    run_worker(spec, WorkerSettings(), factory)


if __name__ == "__main__":
    main()
