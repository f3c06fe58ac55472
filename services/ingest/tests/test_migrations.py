"""The ingest schema migrations on real SQLite and real PostgreSQL: head equals the models, databases made by
`create_all` before migrations are adopted with their rows, later revisions apply, newer databases are left
alone, and `new_revision` writes the next script."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from reelscope_contracts import JobSubmitted
from reelscope_ingest.core.db import Base, make_engine, make_sessionmaker
from reelscope_ingest.core.exceptions import SchemaError
from reelscope_ingest.core.schema import BASELINE, VERSIONS_DIR, Migrations
from reelscope_ingest.core.store import JobStore
from sqlalchemy import Column, Connection, Integer, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture(
    params=[pytest.param("sqlite", marks=pytest.mark.unit), pytest.param("postgresql", marks=pytest.mark.integration)]
)
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on a SQLite file and once on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(any_url: str) -> AsyncIterator[AsyncEngine]:
    made = make_engine(any_url)
    yield made
    await made.dispose()


def model_differences(connection: Connection, metadata: MetaData = Base.metadata) -> list[Any]:
    """What `alembic revision --autogenerate` would write: the differences between the database and the models."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def differences(engine: AsyncEngine, metadata: MetaData = Base.metadata) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(model_differences, metadata)


async def columns(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_columns(table))
    return {column["name"] for column in found}


async def submit(engine: AsyncEngine, job_id: str) -> None:
    job = JobSubmitted(
        job_id=job_id, input_key=f"jobs/{job_id}/input/a.mp4", original_filename="a.mp4", input_size_bytes=7
    )
    await JobStore(make_sessionmaker(engine)).create(job, trace_id=None)


async def test_upgrade_from_empty_matches_the_models(engine: AsyncEngine) -> None:
    """Upgrading an empty database yields exactly the models' schema: autogenerate finds no difference."""
    done = await Migrations().upgrade(engine)
    assert done.before.current is None
    assert not done.before.legacy
    assert done.changed
    assert done.after == Migrations().head
    assert await differences(engine) == []
    assert (await Migrations().state(engine)).at_head


@pytest.mark.unit
async def test_a_model_change_without_a_migration_is_a_difference(tmp_path: Path) -> None:
    """The comparison above can fail: a column added to the models but to no migration shows up as a difference."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    try:
        await Migrations().upgrade(engine)
        changed = MetaData()
        for table in Base.metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["jobs"].append_column(Column("priority", Integer, nullable=True))
        found = await differences(engine, changed)
    finally:
        await engine.dispose()
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "jobs", "priority")]


async def test_a_create_all_database_is_stamped_and_upgraded_keeping_its_rows(engine: AsyncEngine) -> None:
    """A database made by an earlier release's `create_all` (no alembic_version) is stamped at the baseline,
    upgraded to head, and keeps its jobs."""
    # What `create_all` made then is exactly revision 0001: build that, then forget the revision.
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(Migrations().config(c), BASELINE))
        await connection.execute(text("DROP TABLE alembic_version"))
        await connection.execute(
            text(
                "INSERT INTO jobs (id, status, created_at, updated_at, original_filename, input_key, input_size, "
                "renditions, skipped_renditions, cancel_announced) VALUES ('old-job', 'queued', :now, :now, "
                "'a.mp4', 'jobs/old-job/input/a.mp4', 7, '[]', '[]', false)"
            ),
            {"now": datetime.now(UTC)},
        )
    assert (await Migrations().state(engine)).legacy

    done = await Migrations().upgrade(engine)

    assert done.before.legacy
    assert done.after == Migrations().head
    assert (await Migrations().state(engine)).at_head
    job = await JobStore(make_sessionmaker(engine)).get("old-job")
    assert job is not None
    assert job.original_filename == "a.mp4"
    assert job.tenant == "default"  # jobs from before API keys belong to the default tenant (revision 0002)
    assert await differences(engine) == []


@pytest.mark.unit
async def test_a_v1_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """Tables from before schema v2 (jobs.input_path, no input_key) are not stamped: the error says to recreate."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'v1.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE jobs (id VARCHAR(64) PRIMARY KEY, input_path VARCHAR(512))"))
        with pytest.raises(SchemaError, match=r"predates schema v2 \(table 'jobs' lacks .*input_key.*recreate it"):
            await Migrations().upgrade(engine)
        state = await Migrations().state(engine)
    finally:
        await engine.dispose()
    assert state.current is None
    assert state.legacy


async def test_a_later_revision_applies_once(engine: AsyncEngine, later: Migrations) -> None:
    """A database at this release's head is behind the next release's; upgrading applies the new revision, and
    a second upgrade finds nothing to do."""
    await Migrations().upgrade(engine)
    assert (await later.state(engine)).behind
    done = await later.upgrade(engine)
    assert done.changed
    assert done.before.current == Migrations().head
    assert done.after == "test_later"
    assert "note" in await columns(engine, "jobs")
    again = await later.upgrade(engine)
    assert not again.changed
    assert again.after == "test_later"


async def test_a_database_ahead_is_left_alone_and_still_served(engine: AsyncEngine, later: Migrations) -> None:
    """After the next release's expand-only migration, this release sees the database as ahead, changes nothing,
    and its store still writes and reads jobs (the rollback case)."""
    await later.upgrade(engine)
    state = await Migrations().state(engine)
    assert state.ahead
    assert not state.behind
    assert state.current == "test_later"
    done = await Migrations().upgrade(engine)
    assert not done.changed
    assert done.after == "test_later"
    await submit(engine, "after-rollback")
    assert await JobStore(make_sessionmaker(engine)).get("after-rollback") is not None


async def test_a_failing_revision_leaves_nothing_behind(engine: AsyncEngine, tmp_path: Path, later_source: str) -> None:
    """A revision that fails half-way is rolled back whole, on SQLite as on PostgreSQL: neither its first step nor
    the revision number remain, and the error reaches the caller."""
    await Migrations().upgrade(engine)
    directory = tmp_path / "failing-versions"
    directory.mkdir()
    failing = later_source.replace(
        '        batch.add_column(sa.Column("note", sa.Text(), nullable=True))\n',
        '        batch.add_column(sa.Column("note", sa.Text(), nullable=True))\n'
        '    op.execute("SELECT no_such_column FROM jobs")\n',
    )
    (directory / "test_later_failing.py").write_text(failing)
    with pytest.raises(DBAPIError, match="no_such_column"):
        await Migrations(version_locations=(VERSIONS_DIR, directory)).upgrade(engine)
    assert "note" not in await columns(engine, "jobs")
    assert (await Migrations().state(engine)).at_head


@pytest.mark.integration
async def test_concurrent_upgrades_on_postgresql_take_turns(postgres_url: str) -> None:
    """Two migrators on one PostgreSQL database (two ingest pods migrating on start) serialise on an advisory
    lock: one upgrades, the other then finds the database at head; neither fails."""
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    try:
        results = await asyncio.gather(*(Migrations().upgrade(e) for e in engines))
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(r.changed for r in results) == [False, True]
    assert {r.after for r in results} == {Migrations().head}


@pytest.mark.unit
async def test_new_revision_writes_the_next_numbered_script(tmp_path: Path) -> None:
    """`new_revision` numbers the next script after the head, chains it to the head, and leaves it empty when
    the models did not change."""
    path = await Migrations(version_locations=(VERSIONS_DIR, tmp_path)).new_revision("Add nothing", tmp_path)
    head = Migrations().head
    assert path == tmp_path / f"{int(head) + 1:04d}_add_nothing.py"
    source = path.read_text()
    assert f"down_revision: str | None = {head!r}" in source
    assert "from alembic import op" not in source  # no operation to import it for
    assert "    pass\n" in source
    assert Migrations(version_locations=(VERSIONS_DIR, tmp_path)).head == f"{int(head) + 1:04d}"
