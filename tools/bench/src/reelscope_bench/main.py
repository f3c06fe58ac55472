"""`reelscope-bench`: `all` (make bench) runs every benchmark in one go on the local stack and writes
`bench/results/latest.{json,md}`; `media` (make bench-media) runs only the media figures.

Every figure that has a target is a ratio or bound measured in this run (these machines are noisy); absolute
numbers are there for context. A missed target is reported, never an error: the exit code is non-zero only
when a benchmark crashed (its error is in the results, and the others still ran)."""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelscope_cli.stack.main import down, up
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings

from reelscope_bench import api_overhead, asr, metrics_endpoint, pipeline, telemetry_cost
from reelscope_bench import transcode as transcode_bench
from reelscope_bench.report import Section, at_least, at_most, flat_figures, targets_table

RESULTS_DIR = Path("bench/results")
STAGE_OVERHEAD_LIMIT = 1.05
SINGLE_PASS_SPEEDUP = 1.4


def machine() -> str:
    return (
        f"{platform.machine()}, {platform.system()} {platform.release()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}"
    )


def media_sections(work: Path, repeats: int) -> list[Section]:
    """Transcode stage vs ffmpeg by hand, single pass vs one process per rendition; the recogniser's WER and RTF."""
    transcode = transcode_bench.run(work / "transcode", repeats)
    recognition = asr.run(work / "asr")
    return [
        Section(
            "transcode",
            "Transcode",
            transcode,
            [
                at_most("stage_overhead_ratio", transcode["stage_overhead_ratio"], STAGE_OVERHEAD_LIMIT),
                at_least(
                    "single_pass_speedup_vs_sequential",
                    transcode["single_pass_speedup_vs_sequential"],
                    SINGLE_PASS_SPEEDUP,
                ),
            ],
        ),
        Section("asr", "Speech recognition", recognition),
    ]


def to_markdown(sections: list[Section], when: str, took_s: float, errors: dict[str, str]) -> str:
    """The targets table first (the verdicts), then every section's figures."""
    lines = [f"Benchmarks, {when} on {machine()}; {took_s / 60:.1f} min", "", targets_table(sections).rstrip(), ""]
    for name, error in errors.items():
        lines += [f"**{name} crashed**: {error.strip().splitlines()[-1]}", ""]
    for section in sections:
        lines += [f"### {section.title}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in flat_figures(section.figures)]
        lines.append("")
    return "\n".join(lines)


def _write(stem: str, payload: dict[str, Any], markdown: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(markdown)


def run_all(repeats: int, latency_jobs: int, throughput_jobs: int) -> int:
    """Every benchmark; the stack is started if it is not running (and then stopped again)."""
    settings = StackSettings()
    started_here = ProcessManager(settings.run_dir).pid_of("ingest") is None
    began = time.monotonic()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    sections: list[Section] = []
    errors: dict[str, str] = {}

    def attempt(name: str, produce: Callable[[], list[Section]]) -> None:
        print(f"== {name} ({(time.monotonic() - began) / 60:.1f} min in)", flush=True)
        try:
            sections.extend(produce())
        except Exception:  # one crashed benchmark must not lose the others' figures
            errors[name] = traceback.format_exc()
            print(errors[name], file=sys.stderr)

    # In-process figures first, while the stack is not yet running beside them.
    attempt("telemetry cost", lambda: [telemetry_cost.run()])
    attempt("metrics endpoint", lambda: [metrics_endpoint.run()])
    with tempfile.TemporaryDirectory(prefix="reelscope-bench-") as scratch:
        work = Path(scratch)
        up(settings)
        try:
            attempt("api overhead", lambda: [api_overhead.run(settings)])
            attempt("pipeline", lambda: list(pipeline.run(settings, work / "pipeline", latency_jobs, throughput_jobs)))
        finally:
            if started_here:
                down(settings)
        attempt("media", lambda: media_sections(work / "media", repeats))
    took = time.monotonic() - began
    payload = {
        "when": when,
        "machine": machine(),
        "minutes": round(took / 60, 2),
        "sections": {section.name: section.to_json() for section in sections},
        "crashed": errors,
    }
    markdown = to_markdown(sections, when, took, errors)
    _write("latest", payload, markdown)
    print(markdown)
    met = sum(t.met for s in sections for t in s.targets)
    total = sum(len(s.targets) for s in sections)
    print(f"{met} of {total} targets met; results in {RESULTS_DIR}/latest.json and latest.md")
    return 1 if errors else 0


def run_media(repeats: int) -> int:
    began = time.monotonic()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="reelscope-bench-") as scratch:
        sections = media_sections(Path(scratch), repeats)
    markdown = to_markdown(sections, when, time.monotonic() - began, {})
    _write(
        "media-latest",
        {"when": when, "machine": machine(), "sections": {s.name: s.to_json() for s in sections}},
        markdown,
    )
    print(markdown)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelscope-bench", description="Reelscope benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)
    everything = commands.add_parser("all", help="every benchmark, on the local stack (make bench)")
    everything.add_argument("--repeats", type=int, default=3, help="media runs per measurement (the median is kept)")
    everything.add_argument("--latency-jobs", type=int, default=20, help="jobs run one at a time for the overhead")
    everything.add_argument("--throughput-jobs", type=int, default=16, help="jobs submitted at once for throughput")
    media = commands.add_parser("media", help="transcode ratios and speech recognition WER / real-time factor")
    media.add_argument("--repeats", type=int, default=3, help="runs per measurement (the median is reported)")
    args = parser.parse_args(argv)
    if args.command == "all":
        return run_all(args.repeats, args.latency_jobs, args.throughput_jobs)
    return run_media(args.repeats)


if __name__ == "__main__":
    sys.exit(main())
