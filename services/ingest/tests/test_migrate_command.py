"""`python -m reelscope_ingest.migrate` (what the Helm chart runs) and ingest's schema step at start-up:
exit codes, the lines ops read, refusing a database behind head, serving one ahead."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.db import make_engine
from reelscope_ingest.core.exceptions import SchemaError
from reelscope_ingest.core.schema import Migrations, SchemaState, prepare_schema
from reelscope_ingest.main import create_app
from reelscope_ingest.migrate import EXIT_BEHIND, EXIT_FAILED, EXIT_OK, main
from reelscope_telemetry.testing import CapturedTelemetry


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty SQLite database, named in REELSCOPE_DATABASE_URL as the chart's Job names its database."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("REELSCOPE_DATABASE_URL", database)
    return database


def state_of(url: str, migrations: Migrations | None = None) -> SchemaState:
    async def read() -> SchemaState:
        engine = make_engine(url)
        try:
            return await (migrations or Migrations()).state(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


@pytest.mark.unit
def test_check_says_behind_then_head(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` exits 3 on an empty database without touching it, 0 once the upgrade ran (and says so)."""
    assert main(["--check"]) == EXIT_BEHIND
    assert stderr_lines(capsys) == [
        f"reelscope-migrate: {url} is behind: empty (no revision), this release needs {Migrations().head}; "
        "run `python -m reelscope_ingest.migrate`"
    ]
    assert state_of(url).current is None
    assert main([]) == EXIT_OK
    assert stderr_lines(capsys)[-1] == (
        f"reelscope-migrate: upgraded {url} to revision {Migrations().head} (head); it was empty (no revision)"
    )
    assert main(["--check"]) == EXIT_OK
    assert stderr_lines(capsys) == [
        f"reelscope-migrate: {url} is at revision {Migrations().head} (head): nothing to migrate"
    ]


@pytest.mark.unit
def test_check_is_3_while_a_later_revision_is_pending(
    url: str, later: Migrations, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database at this release's head is behind the next release's; migrating runs that revision, and
    alembic's "Running upgrade" line shows it."""
    assert main([]) == EXIT_OK
    assert main(["--check"], later) == EXIT_BEHIND
    capsys.readouterr()
    assert main([], later) == EXIT_OK
    lines = stderr_lines(capsys)
    assert f"reelscope-migrate: Running upgrade {Migrations().head} -> test_later, A later release's" in lines[0]
    assert lines[-1].endswith(f"to revision test_later (head); it was at revision {Migrations().head}")
    assert state_of(url, later).at_head


@pytest.mark.unit
def test_a_database_ahead_is_not_an_error(url: str, later: Migrations, capsys: pytest.CaptureFixture[str]) -> None:
    """After a newer release migrated the database, this release's migrate and check both exit 0, with a warning."""
    assert main([], later) == EXIT_OK
    capsys.readouterr()
    assert main([]) == EXIT_OK
    assert stderr_lines(capsys) == [
        f"reelscope-migrate: warning: {url} is at revision test_later, newer than this release's head "
        f"{Migrations().head}; left as it is (a newer release migrated it)"
    ]
    assert main(["--check"]) == EXIT_OK
    assert state_of(url, later).current == "test_later"


@pytest.mark.unit
def test_failure_is_one_line_naming_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that cannot be opened fails with exit 1 and one line: which database, and why."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'jobs.db'}"
    monkeypatch.setenv("REELSCOPE_DATABASE_URL", url)
    assert main([]) == EXIT_FAILED
    assert stderr_lines(capsys) == [
        f"reelscope-migrate: error: {url}: SchemaError: the directory {tmp_path / 'missing-dir'} of the SQLite "
        "database does not exist"
    ]


@pytest.mark.integration
def test_the_command_the_chart_runs(url: str) -> None:
    """`python -m reelscope_ingest.migrate` in its own process upgrades (exit 0), then finds nothing to do."""
    command = [sys.executable, "-m", "reelscope_ingest.migrate"]
    environment = os.environ | {"REELSCOPE_DATABASE_URL": url}
    first = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == EXIT_OK, first.stderr
    assert f"upgraded {url} to revision {Migrations().head} (head); it was empty (no revision)" in first.stderr
    second = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == EXIT_OK, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"reelscope-migrate: {url} is already at head {Migrations().head}; nothing to do"
    ]


@pytest.mark.unit
async def test_startup_without_migrating_refuses_a_database_behind_head(
    url: str, tmp_path: Path, telemetry: CapturedTelemetry
) -> None:
    """With REELSCOPE_DATABASE_MIGRATE_ON_START=false, ingest does not start on an empty database: the error names
    the command to run, and nothing is created."""
    settings = IngestSettings(
        database_url=url,
        database_migrate_on_start=False,
        storage_dir=tmp_path / "storage",
        scratch_dir=tmp_path / "scratch",
    )
    app = create_app(settings, telemetry.telemetry)
    with pytest.raises(SchemaError, match=r"needs revision \w+: run `python -m reelscope_ingest.migrate` first"):
        async with app.router.lifespan_context(app):
            pass
    engine = make_engine(url)
    try:
        assert (await Migrations().state(engine)).current is None
    finally:
        await engine.dispose()
    assert not (tmp_path / "scratch").exists()  # refused before anything else was set up


@pytest.mark.integration
def test_ingest_process_refuses_to_start_behind_head(url: str, tmp_path: Path) -> None:
    """`python -m reelscope_ingest` with migrate-on-start off exits 3 on an empty database, its error line naming
    the command to run (what `kubectl logs` shows when the chart's Job did not run)."""
    environment = os.environ | {
        "REELSCOPE_DATABASE_URL": url,
        "REELSCOPE_DATABASE_MIGRATE_ON_START": "false",
        "REELSCOPE_STORAGE_DIR": str(tmp_path / "storage"),
        "REELSCOPE_SCRATCH_DIR": str(tmp_path / "scratch"),
        "OTEL_SDK_DISABLED": "true",
        "REELSCOPE_LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [sys.executable, "-m", "reelscope_ingest"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    errors = [
        line["event"] for line in lines if line["level"] == "error" and line["logger"] == "reelscope_ingest.core.schema"
    ]
    assert errors == [
        f"refusing to start: database schema is empty (no revision) but this release needs revision "
        f"{Migrations().head}: run `python -m reelscope_ingest.migrate` first (the Helm chart's migration Job "
        "does), or set REELSCOPE_DATABASE_MIGRATE_ON_START=true"
    ]


@pytest.mark.unit
async def test_startup_without_migrating_serves_a_database_ahead(
    url: str, later: Migrations, telemetry: CapturedTelemetry
) -> None:
    """A database migrated by a newer release (this image rolled back) is served, with a warning in the logs."""
    engine = make_engine(url)
    try:
        await later.upgrade(engine)
        await prepare_schema(engine, Migrations(), migrate=False)
    finally:
        await engine.dispose()
    warnings = [line for line in telemetry.stdout_lines() if line["level"] == "warning"]
    assert [(w["event"], w["revision"]) for w in warnings] == [
        (
            "database schema is newer than this release; serving it, as migrations keep the previous release working",
            "test_later",
        )
    ]


@pytest.mark.unit
async def test_startup_migrating_upgrades_and_logs_from_to(url: str, telemetry: CapturedTelemetry) -> None:
    """With migrate-on-start (the default), start-up upgrades an empty database and logs from where to what."""
    engine = make_engine(url)
    try:
        await prepare_schema(engine, Migrations(), migrate=IngestSettings().database_migrate_on_start)
        assert (await Migrations().state(engine)).at_head
    finally:
        await engine.dispose()
    upgraded = [line for line in telemetry.stdout_lines() if line["event"] == "database schema upgraded"]
    assert [(u["from_schema"], u["to_revision"]) for u in upgraded] == [("empty (no revision)", Migrations().head)]
