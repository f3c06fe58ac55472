"""`reelscope-bench media`: run the media benchmarks and write `bench/results/media-latest.{json,md}`."""

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelscope_bench import asr
from reelscope_bench import transcode as transcode_bench

RESULTS_DIR = Path("bench/results")


def _rows(section: str, figures: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name, value in figures.items():
        if isinstance(value, dict):
            rows += _rows(section, value, f"{prefix}{name}.")
        elif isinstance(value, list):
            continue  # per-item detail stays in the JSON
        else:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            rows.append((f"{section}: {prefix}{name}", shown))
    return rows


def to_markdown(results: dict[str, Any]) -> str:
    """One table: figure name and value (ratios are the targets; absolute seconds are context)."""
    lines = [
        f"Media benchmark, {results['when']} on {results['machine']}",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for section in ("transcode", "asr"):
        lines += [f"| {name} | {value} |" for name, value in _rows(section, results[section])]
    return "\n".join(lines) + "\n"


def run_media(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reelscope-bench-") as scratch:
        work = Path(scratch)
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {platform.system()} {platform.release()}, "
            f"{len(os.sched_getaffinity(0))} cores",
            "transcode": transcode_bench.run(work / "transcode", repeats),
            "asr": asr.run(work / "asr"),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelscope-bench", description="Reelscope benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)
    media = commands.add_parser("media", help="transcode ratios and speech recognition WER / real-time factor")
    media.add_argument("--repeats", type=int, default=3, help="runs per measurement (the median is reported)")
    args = parser.parse_args(argv)
    results = run_media(args.repeats)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "media-latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = to_markdown(results)
    (RESULTS_DIR / "media-latest.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
