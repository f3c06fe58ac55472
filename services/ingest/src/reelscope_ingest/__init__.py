"""Reelscope ingest: the HTTP API that accepts videos, starts jobs and owns job state."""
