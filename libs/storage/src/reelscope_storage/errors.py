"""Storage errors: a missing object is a different thing from a broken backend."""


class StorageError(Exception):
    """The backend could not do what was asked (I/O error, refused credentials, unreachable endpoint)."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class InvalidKey(StorageError, ValueError):
    """A key that could escape its namespace (`..`, absolute, backslashes, empty parts)."""
