"""Alembic migrations of the ingest database, shipped inside the package: env.py, the revision template and
versions/ (see core.schema for how they are run)."""
