"""Errors of the ingest core, factored out so that the schema modules can share them without import loops."""


class SchemaError(Exception):
    """The database's schema cannot be used or brought to this release's head; the message says why."""
