"""Object keys: `/`-separated, relative, no `.`/`..` parts, so no key can escape the store's root."""

import hashlib
import re

from reelscope_storage.errors import InvalidKey

_PART = re.compile(r"^[A-Za-z0-9._=-]+$")
MAX_KEY_LENGTH = 512


def validate_key(key: str) -> str:
    """Return `key` unchanged when it is safe on every backend; raise `InvalidKey` otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH or key.startswith("/") or key.endswith("/"):
        raise InvalidKey(f"invalid storage key {key!r}")
    for part in key.split("/"):
        if part in ("", ".", "..") or not _PART.match(part):
            raise InvalidKey(f"invalid storage key {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix is a key naming a "directory": the same rules; returned with a trailing `/`."""
    return validate_key(prefix.rstrip("/")) + "/"


def staging_name(prefix: str) -> str:
    """The local staging directory's name for outputs under `prefix`: the same for every attempt, so an attempt
    clears what a killed one left (one attempt per job and stage runs at a time)."""
    return "outputs-" + hashlib.sha256(prefix.encode()).hexdigest()[:32]
