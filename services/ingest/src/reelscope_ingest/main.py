"""Assemble the ingest app: routes, instrumentation, and the resources its lifespan opens and closes."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from reelscope_contracts.topology import INGEST_EVENTS
from reelscope_flags import FeatureFlags
from reelscope_messaging import Broker, Consumer, FailurePolicy, connect_with_retry
from reelscope_messaging.profiling import LoopProfiler
from reelscope_storage import open_storage
from reelscope_telemetry import Telemetry, get_logger

from reelscope_ingest.api.deps import AppState
from reelscope_ingest.api.hardening import harden
from reelscope_ingest.api.injected_faults import InjectedLatency
from reelscope_ingest.api.routes import debug, health, jobs
from reelscope_ingest.api.routes import keys as key_routes
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.db import make_engine, make_sessionmaker
from reelscope_ingest.core.keys import KeyStore, load_declared_keys
from reelscope_ingest.core.schema import Migrations, prepare_schema
from reelscope_ingest.core.store import JobStore
from reelscope_ingest.core.stuck import StuckJobDetector
from reelscope_ingest.events import event_handler, start_job_counters_at_zero
from reelscope_ingest.shutdown import ShutdownState

log = get_logger(__name__)


async def _connect_broker(broker: Broker, store: JobStore, telemetry: Telemetry, settings: IngestSettings) -> Consumer:
    """Connect (retrying while RabbitMQ starts) and consume stage events; readiness waits for this."""
    await connect_with_retry(broker)
    consumer = Consumer(
        broker,
        telemetry,
        INGEST_EVENTS,
        event_handler(store, telemetry, settings),
        stage=None,
        policy=FailurePolicy.PARK,
    )
    await consumer.start()
    return consumer


async def _drain_events(connecting: asyncio.Task[Consumer], grace_s: float) -> None:
    """Stop consuming stage events and let those being applied finish (the rest go back to their queue)."""
    if not connecting.done() or connecting.cancelled() or connecting.exception() is not None:
        connecting.cancel()
        return
    consumer = connecting.result()
    await consumer.stop_consuming()
    await consumer.drain(grace_s)


async def _declare_keys(keys: KeyStore, settings: IngestSettings) -> None:
    """Make sure the keys of REELSCOPE_API_KEYS_FILE exist (the chart's smoke-test key, keys kept elsewhere)."""
    if settings.api_keys_file is None:
        return
    declared = load_declared_keys(settings.api_keys_file)
    for key in declared:
        await keys.declare(key.name, key.tenant, key.scopes, key.key)
    log.info("declared API keys in place", count=len(declared), names=[k.name for k in declared])


def create_app(
    settings: IngestSettings,
    telemetry: Telemetry,
    shutdown: ShutdownState | None = None,
    migrations: Migrations | None = None,
    flags: FeatureFlags | None = None,
) -> FastAPI:
    """The FastAPI application, instrumented with our providers (no per-chunk send/receive spans).
    `shutdown` is what the server marks on SIGTERM (readiness turns 503 at once); its schema step runs
    this release's `migrations` (tests may pass others); `flags` are the failure flags (`FeatureFlags.start()`)."""
    stopping = shutdown if shutdown is not None else ShutdownState()
    flags = flags if flags is not None else FeatureFlags()
    migrations = migrations if migrations is not None else Migrations()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        keys = KeyStore(sessions, settings.pepper)
        try:
            await prepare_schema(engine, migrations, migrate=settings.database_migrate_on_start)
            await _declare_keys(keys, settings)
        except BaseException:
            await engine.dispose()
            raise
        settings.scratch_dir.mkdir(parents=True, exist_ok=True)
        start_job_counters_at_zero(telemetry)
        storage = open_storage(settings)
        store = JobStore(sessions)
        broker = Broker(settings, telemetry.tracer, telemetry.instruments)
        app.state.reelscope = AppState(
            settings=settings, store=store, keys=keys, broker=broker, storage=storage, telemetry=telemetry, flags=flags
        )
        connecting = asyncio.create_task(_connect_broker(broker, store, telemetry, settings))
        detector = StuckJobDetector(store, broker, storage, telemetry, settings)
        detecting = asyncio.create_task(detector.run(), name="stuck-job detector")
        log.info("ingest ready to serve", port=settings.port)
        try:
            yield
        finally:
            detecting.cancel()
            await _drain_events(connecting, stopping.remaining(settings.shutdown_grace_s))
            await asyncio.wait([detecting])  # no sweep still writing while the engine closes
            await broker.close()
            await engine.dispose()

    # No ReDoc: it would need a looser Content-Security-Policy (/docs, Swagger UI, gets its own: security_headers).
    app = FastAPI(title="Reelscope ingest", version="0.1.0", lifespan=lifespan, redoc_url=None)
    app.state.shutdown = stopping
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(key_routes.router)
    if settings.profiling_enabled:  # off by default: then /debug/profile is absent (404), from the document too
        app.state.profiler = LoopProfiler("ingest")
        app.include_router(debug.router)
    app.add_middleware(InjectedLatency, flags=flags)  # innermost of ours, inside the server span
    harden(app, settings)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        excluded_urls="healthz,readyz",
        exclude_spans=["receive", "send"],
    )
    return app
