"""The ingest API while RabbitMQ is unreachable: uploads are refused at once with 503 + Retry-After (before
the body is read, leaving no job and no file behind), reads keep working, cancels ask to be repeated."""

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from reelscope_contracts import JobSubmitted
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.db import JobRow, make_engine, make_sessionmaker
from reelscope_ingest.core.store import JobStore
from reelscope_ingest.main import create_app
from reelscope_telemetry.testing import CapturedTelemetry
from sqlalchemy import func, select

from .conftest import authorize

pytestmark = pytest.mark.unit

BOUNDARY = "reelscope-test-boundary"
CHUNK = b"\0" * (1024 * 1024)
BODY_CHUNKS = 256  # a 256 MiB upload, if anyone read it all


def _closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> IngestSettings:
    return IngestSettings(
        amqp_url=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/",
        connect_timeout_s=1,
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        scratch_dir=tmp_path / "scratch",
    )


@pytest.fixture
async def existing_job(store: JobStore) -> str:
    """A job recorded before the broker went away (the `store` fixture created the schema)."""
    await store.create(
        JobSubmitted(
            job_id="before", input_key="jobs/before/input/source.mp4", original_filename="a.mp4", input_size_bytes=1
        ),
        trace_id=None,
    )
    return "before"


@pytest.fixture
async def client(settings: IngestSettings, telemetry: CapturedTelemetry) -> AsyncIterator[httpx.AsyncClient]:
    """The real ingest app with its lifespan running (it keeps trying to reach the closed port)."""
    app = create_app(settings, telemetry.telemetry)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test") as http,
    ):
        await authorize(http, app)
        yield http


class CountingBody:
    """A multipart upload body streamed chunk by chunk, counting how much the server pulled."""

    def __init__(self) -> None:
        self.chunks_sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        self.chunks_sent += 1
        yield head
        for _ in range(BODY_CHUNKS):
            self.chunks_sent += 1
            yield CHUNK
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def test_upload_is_refused_at_once_with_503_and_retry_after(
    client: httpx.AsyncClient, settings: IngestSettings, database_url: str
) -> None:
    """POST /v1/jobs answers 503 with Retry-After within a couple of seconds, having read at most the first
    chunk of a 256 MiB body, and leaves no job row, no stored input and no scratch file."""
    body = CountingBody()
    started = time.monotonic()
    response = await client.post(
        "/v1/jobs",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "queue_unavailable"
    assert "queue is unavailable" in response.json()["detail"]
    assert elapsed < 2.0
    assert body.chunks_sent <= 2
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            assert await session.scalar(select(func.count()).select_from(JobRow)) == 0
    finally:
        await engine.dispose()
    assert not [p for p in settings.storage_dir.rglob("*") if p.is_file()]
    assert not [p for p in settings.scratch_dir.rglob("*") if p.is_file()]


async def test_reads_work_and_readiness_says_not_ready(client: httpx.AsyncClient, existing_job: str) -> None:
    """GET of an existing job still answers from the database; /readyz reports the broker as unavailable."""
    response = await client.get(f"/v1/jobs/{existing_job}")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"] == "unavailable"


async def test_cancel_is_recorded_but_asks_to_be_repeated(client: httpx.AsyncClient, existing_job: str) -> None:
    """DELETE marks the job cancelled yet answers 503 + Retry-After (workers not told), never a 500."""
    response = await client.delete(f"/v1/jobs/{existing_job}")
    assert response.status_code == 503, response.text
    assert "Retry-After" in response.headers
    assert response.json()["code"] == "queue_unavailable"
    assert (await client.get(f"/v1/jobs/{existing_job}")).json()["status"] == "cancelled"
