"""Fixtures of the ingest tests: a job store on a real SQLite file, in-memory telemetry (also what the
root conftest's `broker` fixture traces into), a submitted job, and a real PostgreSQL server.

PostgreSQL refuses to run as root, and pytest-postgresql starts it as the current user, so the server here is
our own: initdb + pg_ctl from the distribution's binaries (scripts/setup.sh installs them), run through
`runuser -u postgres` when the tests run as root, in a temporary directory, on 127.0.0.1 only."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from reelscope_cli.samples import make_short_clip
from reelscope_contracts import JobSubmitted
from reelscope_ingest.api.deps import AppState
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.db import JobRow, make_engine, make_sessionmaker
from reelscope_ingest.core.keys import DEFAULT_TENANT, Scope
from reelscope_ingest.core.schema import VERSIONS_DIR, Migrations
from reelscope_ingest.core.store import JobStore
from reelscope_ingest.main import create_app
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

TEST_API_KEY_PEPPER = "test-pepper-of-the-ingest-tests-0123456789"


@pytest.fixture(autouse=True)
def api_key_pepper(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every ingest test's settings (and the ingest processes it starts) get an API key pepper, as production must."""
    monkeypatch.setenv("REELSCOPE_API_KEY_PEPPER", TEST_API_KEY_PEPPER)
    return TEST_API_KEY_PEPPER


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real, short MP4 made by ffmpeg: what an accepted upload must be now that ingest checks the content."""
    return make_short_clip(tmp_path_factory.mktemp("media") / "clip.mp4").read_bytes()


@pytest.fixture
def ingest_settings(tmp_path: Path, database_url: str, rabbitmq_url: str) -> IngestSettings:
    """Ingest on the test RabbitMQ, a fresh SQLite file and filesystem storage under tmp_path."""
    return IngestSettings(
        amqp_url=rabbitmq_url,
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        scratch_dir=tmp_path / "scratch",
    )


async def count_jobs(database_url: str) -> int:
    """How many jobs the database holds (refused submissions must leave none)."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return int((await session.execute(select(func.count()).select_from(JobRow))).scalar_one())
    finally:
        await engine.dispose()


@asynccontextmanager
async def running_app(
    settings: IngestSettings, telemetry: CapturedTelemetry
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real ingest app with its lifespan running, once it is ready (RabbitMQ connected), and a client to it."""
    app = create_app(settings, telemetry.telemetry)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test") as http,
    ):
        for _ in range(200):
            if (await http.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("ingest never became ready")
        yield app, http


async def authorize(
    http: httpx.AsyncClient,
    app: FastAPI,
    scopes: tuple[Scope, ...] = (Scope.SUBMIT, Scope.READ),
    tenant: str = DEFAULT_TENANT,
    **limits: int,
) -> str:
    """Make an API key in the running app's database and send it on every request of `http`; returns its id."""
    state: AppState = app.state.reelscope
    issued = await state.keys.create("test", tenant, scopes, **limits)
    http.headers["Authorization"] = f"Bearer {issued.secret.get_secret_value()}"
    return issued.row.id


LATER_REVISION = '''"""A later release's expand-only step: add the nullable column jobs.note."""

import sqlalchemy as sa
from alembic import op

revision = "test_later"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("note")
'''
"""A revision the next release could ship, chained to this release's head (see the `later` fixture)."""

POSTGRES_PORT = 25432  # plus REELSCOPE_TEST_PORT_OFFSET
POSTGRES_TIMEOUT_S = 60


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
def later_source() -> str:
    """The source of a revision the next release could ship (adds the nullable column jobs.note)."""
    return LATER_REVISION.format(head=Migrations().head)


@pytest.fixture
def later(tmp_path: Path, later_source: str) -> Migrations:
    """This release's migrations plus one more revision, as the next release would ship them."""
    directory = tmp_path / "later-versions"
    directory.mkdir()
    (directory / "test_later_add_note.py").write_text(later_source)
    return Migrations(version_locations=(VERSIONS_DIR, directory))


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


def postgres_bin() -> Path:
    """The newest PostgreSQL server binaries installed by the distribution (REELSCOPE_TEST_PG_BIN overrides)."""
    if configured := os.environ.get("REELSCOPE_TEST_PG_BIN"):
        return Path(configured)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql: run `make setup`")
    return found[-1].parent


def _as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses root: as root, run its tools as the `postgres` user the package creates."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], log: Path) -> None:
    result = subprocess.run(
        _as_server_user(argv), capture_output=True, text=True, timeout=POSTGRES_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        server_log = log.read_text()[-2000:] if log.exists() else ""
        pytest.fail(f"{argv[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{server_log}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for this session (trust auth, fsync off), stopped and deleted afterwards; the
    URL of its `postgres` database."""
    binaries = postgres_bin()
    port = POSTGRES_PORT + int(os.environ.get("REELSCOPE_TEST_PORT_OFFSET", "0"))
    root = Path(tempfile.mkdtemp(prefix="reelscope-pg-"))  # not under pytest's root-only tmp: `postgres` enters it
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    data, log = root / "data", root / "server.log"
    _run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        log,
    )
    options = f"-h 127.0.0.1 -p {port} -k {root} -F"
    start = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start"]
    _run(start, log)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"], log)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A fresh, empty database on the session's PostgreSQL server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
