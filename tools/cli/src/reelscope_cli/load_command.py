"""`reelscope load`: the command line around `run_load` (arguments, the live progress line, the summary)."""

import argparse
import sys
import time
from collections.abc import Callable
from typing import TextIO

from reelscope_cli.client import ApiClient
from reelscope_cli.load import MAX_JOBS, LoadSettings, run_load
from reelscope_cli.load_mix import CLIP_SET_VERSION, DEFAULT_MIX, Mix, mix_argument, prepare_clips
from reelscope_cli.load_report import LoadReport, progress_line, summary
from reelscope_cli.stack.settings import StackSettings

TTY_EVERY_S = 0.5
LOG_EVERY_S = 5.0


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _job_cap(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_JOBS}, not {text}")
    return value


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]", api: Callable[[], ApiClient]) -> None:
    """Register `load` on the `reelscope` command line; `api` makes the client (main.py's `_api`)."""
    load = commands.add_parser(
        "load",
        help="submit a mix of generated clips at a steady rate and follow every job",
        description="Open-loop load: submissions leave on schedule whatever the pipeline does; every job is "
        "followed to its end. Exits non-zero only when the tool itself fails, not when jobs fail.",
    )
    load.add_argument("--rate", type=_positive, default=1.0, help="submissions per second (default 1)")
    load.add_argument("--duration", type=_positive, default=60.0, help="seconds of submitting (default 60)")
    load.add_argument(
        "--mix", type=mix_argument, default=mix_argument(DEFAULT_MIX), help=f"clip kinds and weights ({DEFAULT_MIX})"
    )
    load.add_argument(
        "--max-jobs", type=_job_cap, help=f"stop after this many (default rate x duration, {MAX_JOBS} max)"
    )
    load.add_argument(
        "--drain-timeout",
        type=_not_negative,
        default=120.0,
        help="seconds to follow jobs after the last submission (default 120)",
    )
    load.add_argument("--webhook", help="URL every job notifies when it ends")
    load.set_defaults(run=lambda args: cmd_load(args, api))


class _Progress:
    """The live line: rewritten in place on a terminal, one line every few seconds otherwise (logs, CI)."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.tty, self.last = out, out.isatty(), 0.0

    def __call__(self, report: LoadReport) -> None:
        now = time.monotonic()
        if now - self.last < (TTY_EVERY_S if self.tty else LOG_EVERY_S):
            return
        self.last = now
        if self.tty:
            print(f"\r{progress_line(report)}\x1b[K", end="", file=self.out, flush=True)
        else:
            print(progress_line(report), file=self.out, flush=True)

    def close(self) -> None:
        if self.tty and self.last:
            print(file=self.out)


def cmd_load(args: argparse.Namespace, api: Callable[[], ApiClient]) -> int:
    mix: Mix = args.mix
    clips_dir = StackSettings().cache_dir / f"load-clips-{CLIP_SET_VERSION}"
    print(f"clips in {clips_dir} ({', '.join(f'{k}={w}' for k, w in mix.weights.items())})", flush=True)
    clips = prepare_clips(set(mix.weights), clips_dir)
    settings = LoadSettings(
        clips=clips,
        mix=mix,
        rate=args.rate,
        duration_s=args.duration,
        max_jobs=args.max_jobs,
        drain_timeout_s=args.drain_timeout,
        webhook_url=args.webhook,
    )
    progress = _Progress(sys.stdout)
    with api() as client:
        print(f"load: {args.rate:g}/s for {args.duration:g}s (Ctrl-C stops submitting, twice stops now)", flush=True)
        report = run_load(settings, client, on_progress=progress)
    progress.close()
    print(summary(report))
    if report.submitted and report.errors == report.submitted:
        print("error: every submission ended in an error (see the reasons above)", file=sys.stderr)
        return 1
    return 0
