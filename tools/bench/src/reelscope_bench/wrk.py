"""Run wrk (an HTTP load generator, from apt) against one URL and read its `--latency` report: requests per
second, median and 99th-percentile latency, and what went wrong (non-2xx answers, socket errors)."""

import os
import re
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_SECONDS_PER_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


class WrkError(RuntimeError):
    """wrk failed, or printed a report this parser does not understand."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run's figures."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def ok_requests(self) -> int:
        """Requests answered 2xx or 3xx (wrk counts a request as done even when the answer is an error)."""
        return self.requests - self.non_2xx


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * _SECONDS_PER_UNIT[unit] * 1000


def _one(pattern: str, report: str) -> re.Match[str]:
    match = re.search(pattern, report, re.MULTILINE)
    if match is None:
        raise WrkError(f"no {pattern!r} in wrk's report:\n{report}")
    return match


def parse_report(report: str) -> WrkResult:
    """The figures of a `wrk --latency` report (its stdout)."""
    p50 = _one(rf"^\s+50%\s+{_DURATION}\s*$", report)
    p99 = _one(rf"^\s+99%\s+{_DURATION}\s*$", report)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    return WrkResult(
        requests=int(_one(r"^\s+(\d+) requests in ", report).group(1)),
        requests_per_s=float(_one(r"^Requests/sec:\s+([\d.]+)", report).group(1)),
        p50_ms=_milliseconds(p50.group(1), p50.group(2)),
        p99_ms=_milliseconds(p99.group(1), p99.group(2)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run_wrk(
    url: str,
    *,
    api_key: str,
    clip: Path | None = None,
    duration_s: float,
    threads: int = 1,
    connections: int = 8,
    timeout_s: float = 10.0,
) -> WrkResult:
    """Load `url` for `duration_s` with GETs, or POSTs uploading `clip` (see lua/ingest_load.lua)."""
    script = resources.files("reelscope_bench") / "lua" / "ingest_load.lua"
    env = os.environ | {"REELSCOPE_BENCH_API_KEY": api_key}
    env.pop("REELSCOPE_BENCH_CLIP", None)
    if clip is not None:
        env["REELSCOPE_BENCH_CLIP"] = str(clip)
    command = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s"]
    command += [f"--timeout={max(1, round(timeout_s))}s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=duration_s + 60, check=False)
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return parse_report(done.stdout)
