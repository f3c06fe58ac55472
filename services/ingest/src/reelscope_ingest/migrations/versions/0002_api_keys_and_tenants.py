"""API keys and tenants: the `api_keys` table; each job's tenant, submitting key and stored output bytes; upload
sizes as 64-bit integers (a 2 GiB upload overflowed PostgreSQL's INTEGER).

Revision ID: 0002
Revises: 0001
Created: 2026-11-23

Expand-only, so the previous release keeps working while this runs (the Helm chart's pre-upgrade Job): new
columns have server defaults (a job the previous release inserts belongs to tenant `default`), nothing is dropped
or renamed. Jobs made before API keys existed belong to tenant `default`: a key of that tenant sees them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signing_generations", sa.JSON(), nullable=False),
        sa.Column("slack_webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("email_to", sa.String(length=320), nullable=True),
        sa.Column("submissions_per_minute", sa.Integer(), nullable=True),
        sa.Column("max_concurrent_jobs", sa.Integer(), nullable=True),
        sa.Column("storage_quota_bytes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant"), ["tenant"], unique=False)

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=64), nullable=False, server_default="default"))
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("owner", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("output_bytes", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.alter_column("input_size", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)
        batch_op.create_index(batch_op.f("ix_jobs_key_id"), ["key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_tenant"), ["tenant"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_tenant"))
        batch_op.drop_index(batch_op.f("ix_jobs_key_id"))
        batch_op.alter_column("input_size", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
        batch_op.drop_column("output_bytes")
        batch_op.drop_column("owner")
        batch_op.drop_column("key_id")
        batch_op.drop_column("tenant")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant"))

    op.drop_table("api_keys")
