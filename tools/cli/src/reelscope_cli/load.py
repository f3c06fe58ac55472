"""`run_load`: submit a clip mix at a steady rate and follow every job to its end (`reelscope load` runs it).

Open loop: submissions leave on schedule (i / rate seconds after the start) from a small thread pool, whether or
not earlier jobs have finished, so a slow pipeline shows up as jobs in flight and latency, not as a lower rate.
One poller thread reads each unfinished job until it is terminal; the run ends when every job has ended or the
drain timeout after the last submission has passed. Usable from another thread: pass a `LoadReport` to read live
and a `stop` event to end submitting early."""

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from reelscope_cli.client import TERMINAL, ApiClient, ApiError
from reelscope_cli.load_mix import ClipKind, Mix
from reelscope_cli.load_report import LoadReport

MAX_JOBS = 10_000
"""Hard cap on one run's submissions, whatever rate and duration say."""
RETRYABLE = {429, 503}


def schedule(rate: float, duration_s: float, max_jobs: int | None = None) -> list[float]:
    """When each submission leaves, in seconds from the start: every 1/rate s within the duration, capped."""
    count = math.ceil(rate * duration_s - 1e-9)
    return [i / rate for i in range(min(count, max_jobs or MAX_JOBS, MAX_JOBS))]


@dataclass(frozen=True)
class LoadSettings:
    """One run: what to submit (`clips` by kind, in `mix` order), how fast, for how long, and how to finish."""

    clips: dict[ClipKind, Path]
    mix: Mix
    rate: float = 1.0
    duration_s: float = 60.0
    max_jobs: int | None = None
    drain_timeout_s: float = 120.0
    webhook_url: str | None = None
    poll_interval_s: float = 0.5
    submit_workers: int = 8
    max_tries: int = 5
    """Tries of one submission answered 429/503, each after its Retry-After (capped by `max_retry_wait_s`)."""
    max_retry_wait_s: float = 30.0


@dataclass
class _Job:
    job_id: str
    kind: ClipKind
    sent: float
    accepted: float
    status: str = "accepted"
    """As last read."""


@dataclass
class _Run:
    """What the submitters and the poller share; everything mutable is guarded by `report.lock`."""

    settings: LoadSettings
    api: ApiClient
    report: LoadReport
    stop: threading.Event
    """Set: submit nothing more (the caller's, or a Ctrl-C); in-flight jobs are still followed."""
    halt: threading.Event = field(default_factory=threading.Event)
    """Set: stop everything now (drain over, or a second Ctrl-C); throttled submissions give up."""
    jobs: dict[str, _Job] = field(default_factory=dict)

    def outcome(self, kind: ClipKind, outcome: str, reason: str | None = None, latency_s: float | None = None) -> None:
        with self.report.lock:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            self.report.by_kind[f"{kind} {outcome}"] += 1
            if reason:
                self.report.reasons[reason] += 1
            if latency_s is not None:
                self.report.latencies_s.append(latency_s)

    def submit(self, kind: ClipKind) -> None:
        """One submission, retried after Retry-After while the API is throttling (429) or unavailable (503)."""
        if self.halt.is_set():  # queued when the run was stopped for good
            return self.outcome(kind, "errors", "not sent: the run was stopped")
        for attempt in range(1, self.settings.max_tries + 1):
            sent = time.monotonic()
            try:
                accepted = self.api.submit(self.settings.clips[kind], self.settings.webhook_url)
            except ApiError as exc:
                answer = f"{exc.status_code} {exc.problem.get('code', 'no problem code')}"
                if exc.status_code not in RETRYABLE:
                    outcome = "rejected" if 400 <= exc.status_code < 500 else "errors"
                    return self.outcome(kind, outcome, f"submission answered {answer}")
                with self.report.lock:
                    self.report.throttled += 1
                if attempt == self.settings.max_tries or self.halt.wait(self._retry_wait(exc.retry_after)):
                    return self.outcome(kind, "errors", f"submission answered {answer}, gave up retrying")
                continue
            except httpx.HTTPError as exc:
                return self.outcome(kind, "errors", f"submission failed: {type(exc).__name__}")
            with self.report.lock:
                self.jobs[accepted["job_id"]] = _Job(accepted["job_id"], kind, sent, time.monotonic())
            return

    def _retry_wait(self, retry_after: str | None) -> float:
        try:
            wait = float(retry_after) if retry_after is not None else 1.0
        except ValueError:
            wait = 1.0
        return min(max(wait, 0.0), self.settings.max_retry_wait_s)

    def poll_once(self) -> None:
        """Read every unfinished job once; record the ones that reached a terminal state."""
        with self.report.lock:
            unfinished = list(self.jobs.values())
        for job in unfinished:
            if self.halt.is_set():
                return
            try:
                state = self.api.job(job.job_id)
            except ApiError as exc:
                if exc.status_code == 404:
                    self._end(job, "errors", "job vanished (404 on read)", None)
                continue
            except httpx.HTTPError:
                continue  # read again next round
            job.status = state["status"]
            if job.status in TERMINAL:
                self._end(job, *_ending(state), _latency(job, state))

    def _end(self, job: _Job, outcome: str, reason: str | None, latency_s: float | None) -> None:
        with self.report.lock:
            self.jobs.pop(job.job_id, None)
        self.outcome(job.kind, outcome, reason, latency_s)


def _ending(state: dict[str, Any]) -> tuple[str, str | None]:
    if state["status"] == "completed":
        return "completed", None
    if state["status"] == "cancelled":
        return "cancelled", "cancelled"
    failure = state.get("failure") or {}
    return "failed", f"failed in {failure.get('stage', '?')}: {failure.get('reason', 'no reason given')}"


def _latency(job: _Job, state: dict[str, Any]) -> float:
    """Submit → terminal: the upload as timed here plus the job's life as the API timed it (not rounded to the
    poll interval); the time the poller saw it end if the API gives no end time."""
    if state.get("finished_at") and state.get("created_at"):
        life = datetime.fromisoformat(state["finished_at"]) - datetime.fromisoformat(state["created_at"])
        return (job.accepted - job.sent) + max(life.total_seconds(), 0.0)
    return time.monotonic() - job.sent


def run_load(
    settings: LoadSettings,
    api: ApiClient,
    report: LoadReport | None = None,
    stop: threading.Event | None = None,
    on_progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Run the load to its end and return its report (the same object as `report` when given)."""
    run = _Run(settings, api, report or LoadReport(), stop or threading.Event())
    submissions_done = threading.Event()
    poller = threading.Thread(target=_follow, args=(run, submissions_done, on_progress), name="load-poller")
    with ThreadPoolExecutor(settings.submit_workers, thread_name_prefix="load-submit") as pool:
        poller.start()
        try:
            _dispatch(run, pool)
            submissions_done.set()
            while poller.is_alive():
                poller.join(0.2)
        except KeyboardInterrupt:  # first Ctrl-C: stop submitting, drain; second: stop now
            run.stop.set()
            submissions_done.set()
            try:
                while poller.is_alive():
                    poller.join(0.2)
            except KeyboardInterrupt:
                run.halt.set()
                poller.join()
        finally:
            submissions_done.set()
            run.halt.set()
    with run.report.lock:
        run.report.ended_at = time.monotonic()
        run.report.unfinished = [f"{job.job_id} ({job.kind}, {job.status})" for job in run.jobs.values()]
    return run.report


def _dispatch(run: _Run, pool: ThreadPoolExecutor) -> None:
    """Hand each submission to the pool at its scheduled time, until the schedule or a stop ends it."""
    order = run.settings.mix.order()
    start = time.monotonic()
    for offset in schedule(run.settings.rate, run.settings.duration_s, run.settings.max_jobs):
        if run.stop.wait(max(0.0, start + offset - time.monotonic())):
            return
        with run.report.lock:
            run.report.submitted += 1
        pool.submit(run.submit, next(order))


def _follow(run: _Run, submissions_done: threading.Event, on_progress: Callable[[LoadReport], None] | None) -> None:
    """Poll until every submission has an outcome, or the drain timeout after the last one has passed."""
    drain_deadline: float | None = None
    while not run.halt.is_set():
        began = time.monotonic()
        run.poll_once()
        if on_progress:
            on_progress(run.report.snapshot())
        if submissions_done.is_set():
            if run.report.snapshot().in_flight == 0:
                return
            drain_deadline = drain_deadline or time.monotonic() + run.settings.drain_timeout_s
            if time.monotonic() >= drain_deadline:
                return
        run.halt.wait(max(0.0, run.settings.poll_interval_s - (time.monotonic() - began)))
