"""The life of a worker process: telemetry, broker connection, one consumer, a health port, and a
graceful stop on SIGTERM/SIGINT: readiness off, no more deliveries, in-flight work finished within a grace
period (or cancelled and returned to its queue), connection closed, telemetry flushed, exit 0."""

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Self

from pydantic import Field, model_validator
from reelscope_contracts import JobEvent, QueueSpec, StageName, StageStarted
from reelscope_telemetry import Telemetry, get_logger, init_telemetry

from reelscope_messaging.broker import Broker, connect_with_retry
from reelscope_messaging.cancellation import CancellationWatch, MarkerCheck
from reelscope_messaging.consumer import Consumer, FailurePolicy, Handler
from reelscope_messaging.health import Readiness, health_server
from reelscope_messaging.idempotency import CompletionLedger
from reelscope_messaging.profiling import LoopProfiler, WorkerProfilingSettings, profile_route
from reelscope_messaging.progress import ProgressReporter
from reelscope_messaging.settings import BrokerSettings, ShutdownSettings

log = get_logger(__name__)


class WorkerSettings(BrokerSettings, ShutdownSettings, WorkerProfilingSettings):
    """Settings every worker has: the broker's, plus where its health port listens (and whether it profiles)."""

    health_host: str = Field(default="127.0.0.1")
    health_port: int = Field(default=0, ge=0, le=65535, description="0 disables the health port")
    progress_interval_s: float = Field(default=1.0, gt=0, description="At most one progress event per job this often")

    @model_validator(mode="after")
    def _profiling_needs_the_health_port(self) -> Self:
        if self.profiling_enabled and not self.health_port:
            raise ValueError("REELSCOPE_PROFILING_ENABLED=true needs the health port (REELSCOPE_HEALTH_PORT)")
        return self


@dataclass(frozen=True)
class WorkerContext:
    """What a handler may use: the broker to publish its next event, telemetry to record its work."""

    broker: Broker
    telemetry: Telemetry
    progress_interval_s: float = 1.0
    cancellation: CancellationWatch | None = None

    async def is_cancelled(self, job_id: str) -> bool:
        """Check before publishing a stage's outcome: heard here, or marked in storage."""
        return self.cancellation is not None and await self.cancellation.is_cancelled(job_id)

    def progress(self, job_id: str, stage: StageName) -> ProgressReporter:
        """A throttled progress reporter for one stage of one job."""
        return ProgressReporter(self.broker, job_id, stage, interval_s=self.progress_interval_s)

    @asynccontextmanager
    async def stage_started(self, job_id: str, stage: StageName) -> AsyncIterator[None]:
        """Publish `job.stage.started` while the stage's work begins: its publisher confirm (a few ms on every
        job, measured by the pipeline benchmark) no longer delays the work. Leaving waits for it, so no later
        event of the job can overtake it, and a broker failure still fails the attempt (after the stage's own
        error, which wins)."""
        announced = asyncio.get_running_loop().create_task(
            self.broker.publish(StageStarted(job_id=job_id, stage=stage))
        )
        try:
            yield
        except BaseException:
            await asyncio.gather(announced, return_exceptions=True)
            raise
        await announced


GiveUpHook = Callable[[WorkerContext, JobEvent, str], Awaitable[None]]


@dataclass(frozen=True)
class WorkerSpec:
    """Which queue a worker consumes, as which stage, and what a failure means."""

    service_name: str
    queue: QueueSpec
    stage: StageName | None
    policy: FailurePolicy
    cancellable: bool = False
    """Listen for `job.cancelled`: skip and stop cancelled jobs (processing stages)."""
    cancel_marker_exists: MarkerCheck | None = None
    """How to see a cancellation that happened while this process was not listening (storage marker)."""
    give_up: GiveUpHook | None = None
    """What to publish when a message runs out of attempts under `FailurePolicy.PARK` (the job is not failed)."""
    ledger: CompletionLedger | None = None
    """Where finished stages are recorded, so a redelivered message is acked, not processed twice."""


HandlerFactory = Callable[[WorkerContext], Handler]
Cleanup = Callable[[], Awaitable[None]]


async def serve(spec: WorkerSpec, settings: WorkerSettings, telemetry: Telemetry, factory: HandlerFactory) -> None:
    """Run the worker until SIGTERM/SIGINT, then stop in order: readiness off, basic.cancel, drain, close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    broker = Broker(settings, telemetry.tracer, telemetry.instruments)
    consumer: Consumer | None = None
    server = None
    server_task = None

    def readiness() -> Readiness:
        if stop.is_set():
            return Readiness.STOPPING
        return Readiness.READY if broker.is_connected and consumer is not None else Readiness.NOT_READY

    if settings.health_port:
        profiling = (
            [profile_route(LoopProfiler(spec.service_name), settings.token)] if settings.profiling_enabled else []
        )
        server = health_server(settings.health_host, settings.health_port, readiness, profiling)
        server_task = asyncio.create_task(server.serve())
    try:
        if await connect_with_retry(broker, stop):
            watch = None
            if spec.cancellable:
                watch = CancellationWatch(spec.cancel_marker_exists)
                await watch.start(broker, telemetry)
            ctx = WorkerContext(
                broker=broker,
                telemetry=telemetry,
                progress_interval_s=settings.progress_interval_s,
                cancellation=watch,
            )
            hook = spec.give_up
            consumer = Consumer(
                broker,
                telemetry,
                spec.queue,
                factory(ctx),
                stage=spec.stage,
                policy=spec.policy,
                cancellation=watch,
                on_give_up=(lambda event, reason: hook(ctx, event, reason)) if hook is not None else None,
                ledger=spec.ledger,
            )
            await consumer.start()
            log.info("worker ready", service=spec.service_name)
            await stop.wait()
            log.info("worker stopping: readiness off", service=spec.service_name, in_flight=consumer.in_flight)
            await consumer.stop_consuming()
            await consumer.drain(settings.shutdown_grace_s)
        else:
            log.info("worker stopping before it connected", service=spec.service_name)
    finally:
        log.info("closing the broker connection", service=spec.service_name)
        await broker.close()
        if server is not None and server_task is not None:
            server.should_exit = True
            await server_task


def run_worker(spec: WorkerSpec, settings: WorkerSettings, factory: HandlerFactory) -> None:
    """Entry point of a worker process: configure telemetry, serve, always flush telemetry on the way out.
    Returns (exit code 0) after a graceful stop."""
    telemetry = init_telemetry(spec.service_name)
    try:
        asyncio.run(serve(spec, settings, telemetry, factory))
    finally:
        log.info("flushing telemetry", service=spec.service_name, timeout_s=settings.shutdown_timeout_s)
        telemetry.shutdown(settings.shutdown_timeout_s)
