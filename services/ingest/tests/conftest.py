"""Fixtures of the ingest tests: a job store on a real SQLite file, in-memory telemetry (also what the
root conftest's `broker` fixture traces into), and a submitted job."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from reelscope_contracts import JobSubmitted
from reelscope_ingest.core.db import make_engine, make_sessionmaker
from reelscope_ingest.core.schema import Migrations
from reelscope_ingest.core.store import JobStore
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    """In-memory telemetry for one test."""
    with capture_telemetry("ingest-test") as captured:
        yield captured


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[JobStore]:
    """A JobStore on a fresh SQLite database file."""
    engine = make_engine(database_url)
    await Migrations().upgrade(engine)
    yield JobStore(make_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
def submit(store: JobStore) -> Callable[..., Awaitable[str]]:
    """Record a submitted job (as POST /v1/jobs does) and return its id."""

    async def make(job_id: str = "job1", webhook_url: str | None = None) -> str:
        await store.create(
            JobSubmitted(
                job_id=job_id,
                input_key=f"jobs/{job_id}/input/source.mp4",
                original_filename="clip.mp4",
                input_size_bytes=10,
                webhook_url=webhook_url,
            ),
            trace_id="0" * 32,
        )
        return job_id

    return make
