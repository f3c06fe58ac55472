"""The flag file, in flagd's own JSON format, so the file the CLI edits locally also works with a flagd server.

Each flag has two variants, `off` (the catalog's off value) and `on` (the value set); `defaultVariant` says which
is in force. Writes go to a temporary file in the same directory and `os.replace` it: a reader (the flagd file
provider polls the file's mtime) sees the old file or the new one, never half a file; the replaced file has a new
mtime, so the provider reloads it (tests/test_provider.py proves it)."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reelscope_flags.catalog import CATALOG, Flag, FlagKind, FlagValue, flag

SCHEMA = "https://flagd.dev/schema/v0/flags.json"


class FlagFileError(ValueError):
    """The flag file is unreadable or a flag value is refused (the message says which and why)."""


def _entry(spec: Flag, value: FlagValue) -> dict[str, Any]:
    on = value != spec.off
    return {
        "state": "ENABLED",
        "variants": {"off": spec.off, "on": value if on else spec.off},
        "defaultVariant": "on" if on else "off",
    }


def _document(values: dict[str, FlagValue]) -> dict[str, Any]:
    return {"$schema": SCHEMA, "flags": {name: _entry(spec, values[name]) for name, spec in CATALOG.items()}}


def _write(path: Path, values: dict[str, FlagValue]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(_document(values), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def ensure_flag_file(path: Path) -> None:
    """Write the all-off flag file if there is none (the local stack calls this at `up`)."""
    if not path.exists():
        _write(path, {name: spec.off for name, spec in CATALOG.items()})


def read_flag_values(path: Path) -> dict[str, FlagValue]:
    """Every catalog flag's value in force in `path` (a flag missing from the file is off)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FlagFileError(f"cannot read the flag file {path}: {exc}") from exc
    entries = document.get("flags") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise FlagFileError(f"{path} is not a flagd flag file (no 'flags' object)")
    values: dict[str, FlagValue] = {}
    for name, spec in CATALOG.items():
        entry = entries.get(name)
        if not isinstance(entry, dict) or entry.get("state") == "DISABLED":
            values[name] = spec.off
            continue
        try:
            values[name] = spec.validate(entry["variants"][entry["defaultVariant"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise FlagFileError(f"{path}: flag {name} is malformed: {exc}") from exc
    return values


def parse_value(spec: Flag, raw: str) -> FlagValue:
    """A command-line value for `spec`: "off", true/false for a bool, a number otherwise."""
    text = raw.strip().lower()
    if text == "off":
        return spec.off
    if spec.kind is FlagKind.BOOL:
        if text in ("true", "on", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise FlagFileError(f"{spec.name} is a bool: give true, false or off, not {raw!r}")
    try:
        number = float(text)
    except ValueError:
        raise FlagFileError(f"{spec.name} is a number ({spec.range_text()}) or off, not {raw!r}") from None
    try:
        return spec.validate(number)
    except ValueError as exc:
        raise FlagFileError(str(exc)) from exc


def set_flag(path: Path, name: str, raw: str) -> FlagValue:
    """Set flag `name` to `raw` ("off" turns it off) in `path`, creating the file if needed; return the value."""
    try:
        spec = flag(name)
    except KeyError as exc:
        raise FlagFileError(str(exc.args[0])) from exc
    value = parse_value(spec, raw)
    ensure_flag_file(path)
    values = read_flag_values(path)
    values[name] = value
    _write(path, values)
    return value
