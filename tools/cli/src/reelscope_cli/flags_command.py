"""`reelscope flags list|set NAME VALUE`: read and change the failure flags in the local stack's flag file.

The services' flagd file provider polls that file, so a change applies within a second, without restarts."""

import argparse
import sys
from pathlib import Path

from reelscope_flags import CATALOG, FlagFileError, FlagValue, read_flag_values, set_flag

from reelscope_cli.stack.settings import StackSettings

COLUMNS = ("NAME", "VALUE", "OFF", "DESCRIPTION", "READ BY")


def default_flag_file() -> Path:
    """The local stack's flag file (its services get `REELSCOPE_FLAGS_FILE` pointing here)."""
    return StackSettings().run_dir / "flags.json"


def _text(value: FlagValue) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


def table(values: dict[str, FlagValue]) -> list[str]:
    """One line per flag, columns aligned; a flag that is on is marked with `*`."""
    rows = [COLUMNS] + [
        (
            name,
            _text(values[name]) + (" *" if values[name] != spec.off else ""),
            _text(spec.off),
            spec.description,
            spec.read_by,
        )
        for name, spec in CATALOG.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]) for row in rows]


def cmd_list(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.exists():
        values = {name: spec.off for name, spec in CATALOG.items()}
        print(f"({path} does not exist yet: every flag is off)")
    else:
        try:
            values = read_flag_values(path)
        except FlagFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    for line in table(values):
        print(line)
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    try:
        value = set_flag(args.file, args.name, args.value)
    except FlagFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "off" if value == CATALOG[args.name].off else "on"
    print(f"{args.name} = {_text(value)} ({state}) in {args.file}")
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `flags` on the `reelscope` command line."""
    flags = commands.add_parser(
        "flags",
        help="list or set the failure flags (fault injection for demos and alert tests)",
        description="Failure flags live in a flagd flag file; services re-read it within a second.",
    )
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--file", type=Path, default=default_flag_file(), help="the flag file (default: the local stack's)"
    )
    actions = flags.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", parents=[where], help="every flag: current value, off value, what it does, who reads it"
    )
    listing.set_defaults(run=cmd_list)
    setting = actions.add_parser("set", parents=[where], help='set a flag ("off" turns it off)')
    setting.add_argument("name", metavar="NAME", help=", ".join(CATALOG))
    setting.add_argument("value", metavar="VALUE", help='a number, true/false, or "off"')
    setting.set_defaults(run=cmd_set)
