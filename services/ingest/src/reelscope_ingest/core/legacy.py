"""Databases made before migrations existed: `create_all` made schema v2 (the local stack's `reelscope-v2.db`)
with no alembic_version table. Such a database is stamped at the baseline revision, once it is known to really
be v2 (a v1 database lacks columns and has to be recreated)."""

from collections.abc import Mapping
from typing import Final

from sqlalchemy import Connection, inspect

from reelscope_ingest.core.exceptions import SchemaError

LEGACY_V2_COLUMNS: Final[Mapping[str, frozenset[str]]] = {
    "jobs": frozenset(
        [
            "id",
            "status",
            "created_at",
            "updated_at",
            "finished_at",
            "trace_id",
            "original_filename",
            "input_key",
            "input_size",
            "hls",
            "webhook_url",
            "media_duration_s",
            "renditions",
            "skipped_renditions",
            "hls_master_key",
            "poster_key",
            "transcript",
            "failure_stage",
            "failure_reason",
            "failure_category",
            "cancel_announced",
        ]
    ),
    "job_stages": frozenset(
        [
            "id",
            "job_id",
            "name",
            "position",
            "status",
            "started_at",
            "finished_at",
            "detail",
            "progress_percent",
            "eta_seconds",
            "cpu_seconds",
        ]
    ),
}
"""What a pre-migration database must hold to be stamped at BASELINE (older ones, v1, lack some columns)."""


def require_legacy_v2(connection: Connection) -> None:
    """Refuse to stamp tables that are not schema v2 (a v1 database must be recreated)."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    for table, columns in LEGACY_V2_COLUMNS.items():
        if table not in tables:
            raise SchemaError(f"database has tables from before migrations but no {table!r} table: recreate it")
        missing = columns - {c["name"] for c in inspector.get_columns(table)}
        if missing:
            raise SchemaError(
                f"database predates schema v2 (table {table!r} lacks {', '.join(sorted(missing))}) and cannot be "
                "migrated: recreate it"
            )
