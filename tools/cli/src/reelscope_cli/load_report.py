"""What a `reelscope load` run counts, and how it is shown: the live progress line and the final summary.

One small dataclass, updated by the run under its lock and read by anyone (the CLI, or `reelscope scenario` from
another thread) through `snapshot()`. Every submission ends in exactly one outcome, so the counts add up:
submitted = completed + failed + cancelled + rejected + errors + in flight."""

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (`q` in 0..100) of a non-empty sample: a latency that was really measured."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class LoadReport:
    """Counters of one load run; `latencies_s` are submit → terminal state of every job that ended."""

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    rejected: int = 0
    """Refused at the door with a 4xx (the corrupt clips are meant to be): not a failure of the tool."""
    errors: int = 0
    """Submissions that never made a job otherwise: server errors, no connection, throttled until out of time."""
    throttled: int = 0
    """429 / 503 answers (each retried after its Retry-After): events, not outcomes."""
    latencies_s: list[float] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    """Why jobs failed, were refused or errored, grouped by the same wording."""
    by_kind: Counter[str] = field(default_factory=Counter)
    """Outcomes per clip kind, as `"<kind> <outcome>"` (`"corrupt rejected"`)."""
    unfinished: list[str] = field(default_factory=list)
    """At the end of a run: the jobs still in flight when draining stopped, as `<job id> (<kind>, <status>)`."""
    started_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def in_flight(self) -> int:
        """Submitted and not yet in an outcome (at the end of a run: still unfinished when draining gave up)."""
        ended = self.completed + self.failed + self.cancelled + self.rejected + self.errors
        return self.submitted - ended

    @property
    def elapsed_s(self) -> float:
        return (self.ended_at if self.ended_at is not None else time.monotonic()) - self.started_at

    def latency(self, q: float) -> float | None:
        return percentile(self.latencies_s, q) if self.latencies_s else None

    def snapshot(self) -> "LoadReport":
        """A consistent copy, safe to read while the run goes on."""
        with self.lock:
            return replace(
                self,
                latencies_s=list(self.latencies_s),
                reasons=Counter(self.reasons),
                by_kind=Counter(self.by_kind),
                unfinished=list(self.unfinished),
                lock=threading.Lock(),
            )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def progress_line(report: LoadReport) -> str:
    """`12s  submitted 24  completed 15  failed 1  rejected 3  in flight 5  throttled 0  p95 8.2s`."""
    return (
        f"{report.elapsed_s:4.0f}s  submitted {report.submitted}  completed {report.completed}  "
        f"failed {report.failed}  rejected {report.rejected}  errors {report.errors}  "
        f"in flight {report.in_flight}  throttled {report.throttled}  p95 {_seconds(report.latency(95))}"
    )


def summary(report: LoadReport) -> str:
    """The end-of-run summary: outcomes, throughput, latency percentiles and grouped reasons."""
    minutes = max(report.elapsed_s, 1e-9) / 60
    ended = report.completed + report.failed + report.cancelled
    lines = [
        f"load run: {report.elapsed_s:.1f}s, {report.submitted} submitted",
        f"  completed {report.completed}  failed {report.failed}  cancelled {report.cancelled}  "
        f"rejected {report.rejected}  errors {report.errors}  unfinished {report.in_flight}  "
        f"(throttled {report.throttled} times)",
        f"  throughput {report.completed / minutes:.1f} completed/min ({ended / minutes:.1f} ended/min)",
        "  latency submit→end  "
        + "  ".join(f"p{q} {_seconds(report.latency(q))}" for q in (50, 95, 99))
        + f"  max {_seconds(max(report.latencies_s, default=None))}",
    ]
    if report.by_kind:
        lines.append("  by kind: " + ", ".join(f"{key} {count}" for key, count in sorted(report.by_kind.items())))
    if report.unfinished:
        shown = ", ".join(report.unfinished[:10]) + (", ..." if len(report.unfinished) > 10 else "")
        lines.append(f"  still in flight when draining stopped: {shown}")
    if report.reasons:
        lines.append("  reasons:")
        lines += [f"    {count:>5}  {reason}" for reason, count in report.reasons.most_common()]
    return "\n".join(lines)
