"""Schema v2: jobs and job_stages, exactly as `create_all` made them before migrations existed.

Revision ID: 0001
Revises:
Created: 2026-11-23

The baseline: a database made by an earlier release (tables, no alembic_version) is stamped at this revision
instead of running it (see `core.schema.Migrations.upgrade`). Timestamps are `UtcDateTime` in the models, stored
as DateTime(timezone=True).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("input_key", sa.String(length=512), nullable=False),
        sa.Column("input_size", sa.Integer(), nullable=False),
        sa.Column("hls", sa.Boolean(), nullable=True),
        sa.Column("webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("media_duration_s", sa.Double(), nullable=True),
        sa.Column("renditions", sa.JSON(), nullable=False),
        sa.Column("skipped_renditions", sa.JSON(), nullable=False),
        sa.Column("hls_master_key", sa.String(length=512), nullable=True),
        sa.Column("poster_key", sa.String(length=512), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=True),
        sa.Column("failure_stage", sa.String(length=32), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("failure_category", sa.String(length=32), nullable=True),
        sa.Column("cancel_announced", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_status"), ["status"], unique=False)

    op.create_table(
        "job_stages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("progress_percent", sa.Double(), nullable=False),
        sa.Column("eta_seconds", sa.Double(), nullable=True),
        sa.Column("cpu_seconds", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "name"),
    )
    with op.batch_alter_table("job_stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_stages_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_stages_job_id"))

    op.drop_table("job_stages")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_status"))

    op.drop_table("jobs")
