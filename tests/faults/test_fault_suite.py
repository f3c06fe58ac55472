"""The fault-injection suite: N jobs through a stack that is being broken on purpose, then the ledger.

While the jobs run, a controller SIGKILLs transcode, transcription and notification workers at random and
restarts them, restarts RabbitMQ once and stops the OpenTelemetry Collector for 30 s. Afterwards every accepted
job must be in a final state (none lost, none stuck), its outputs exactly once in storage, its webhook delivered
under exactly one delivery id, and every parked message accounted for. The figures are printed.

`make test` runs it with REELSCOPE_FAULT_JOBS=200 (the default); `make test-faults` with 1000.
"""

import json
import os
import random
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from reelscope_cli.client import PrometheusClient, RabbitMQManagementClient
from reelscope_cli.otlp_files import read_spans
from reelscope_cli.samples import make_speech_clip, make_test_clip
from reelscope_cli.stack.components import collector, rabbitmq, services
from reelscope_cli.stack.processes import Component, ProcessManager
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

JOBS = int(os.environ.get("REELSCOPE_FAULT_JOBS", "200"))
COLLECTOR_OUTAGE_S = 30.0
SUBMITTERS = 4
SUBMIT_OVER_S = 60.0
RUN_LIMIT_S = 300 + JOBS * 3.0
"""Bound on submitting and finishing every job (the pipeline does about one small job a second on 2 cores)."""
FINAL = {"completed", "failed", "cancelled"}


@dataclass
class Submission:
    job_id: str
    submitted_at: float
    post_seconds: float
    unavailable_answers: int


@dataclass
class Chaos:
    """What the controller did, with monotonic timestamps."""

    kills: Counter[str] = field(default_factory=Counter)
    broker_down: tuple[float, float] | None = None
    collector_down: tuple[float, float] | None = None
    log: list[str] = field(default_factory=list)


class Controller(threading.Thread):
    """Breaks the stack on a schedule until told to stop: collector off for 30 s, one RabbitMQ restart, and
    worker SIGKILLs (each followed by a restart) every few seconds. One thing at a time, so every restart
    completes."""

    def __init__(self, stack: StackSettings, seed: int, kill_budget: int) -> None:
        super().__init__(name="chaos", daemon=True)
        self.stack = stack
        self.manager = ProcessManager(stack.run_dir)
        self.random = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self.kill_budget = kill_budget
        self.chaos = Chaos()
        self.stopping = threading.Event()
        self.scheduled_done = threading.Event()
        """Set once the collector outage and the RabbitMQ restart are over (kills go on until `stopping`)."""
        self.error: BaseException | None = None
        self.workers = {c.name: c for c in services(stack) if c.name != "ingest"}

    def run(self) -> None:
        try:
            self._wait(3)
            self._collector_outage()
            self._wait(2)
            self._broker_restart()
            self.scheduled_done.set()
            while not self.stopping.is_set() and sum(self.chaos.kills.values()) < self.kill_budget:
                self._wait(self.random.uniform(2, 6))
                if not self.stopping.is_set():
                    self._kill_and_restart(self.workers[self.random.choice(sorted(self.workers))])
        except BaseException as exc:  # surfaced by the test
            self.error = exc
            self.scheduled_done.set()

    def _collector_outage(self) -> None:
        component = collector(self.stack)
        started = time.monotonic()
        self.manager.stop(component)
        self.chaos.log.append("collector stopped")
        # Workers keep being killed meanwhile: telemetry loss must not slow or break anything.
        while time.monotonic() - started < COLLECTOR_OUTAGE_S:
            self._wait(self.random.uniform(3, 6))
            self._kill_and_restart(self.workers[self.random.choice(sorted(self.workers))])
        remaining = COLLECTOR_OUTAGE_S - (time.monotonic() - started)
        self._wait(max(0.0, remaining))
        self.manager.start(component, self.stack.start_timeout_s)
        self.chaos.collector_down = (started, time.monotonic())
        self.chaos.log.append("collector started")

    def _broker_restart(self) -> None:
        component = rabbitmq(self.stack)
        started = time.monotonic()
        self.manager.stop(component)
        self.chaos.log.append("rabbitmq stopped")
        self.manager.start(component, self.stack.start_timeout_s)
        self.chaos.broker_down = (started, time.monotonic())
        self.chaos.log.append("rabbitmq started")

    def _kill_and_restart(self, component: Component) -> None:
        if self.manager.kill(component) is not None:
            self.chaos.kills[component.name] += 1
        self._wait(self.random.uniform(0.2, 1.5))
        self.manager.start(component, self.stack.start_timeout_s)

    def _wait(self, seconds: float) -> None:
        self.stopping.wait(seconds)


def _clips(directory: Path) -> list[Path]:
    """Small, valid inputs: silent test patterns in two sizes and two short spoken sentences."""
    return [
        make_test_clip(directory / "silent-360.mp4", size="640x360", duration_s=1.0, audio=False),
        make_test_clip(directory / "silent-180.mp4", size="320x180", duration_s=1.5, audio=False),
        make_speech_clip(directory / "speech-a.mp4", "hello from the fault suite", size="320x180"),
        make_speech_clip(directory / "speech-b.mp4", "nothing is lost and nothing is done twice", size="320x180"),
    ]


def _submit(client: httpx.Client, clip: Path, webhook_url: str, not_before: float, deadline: float) -> Submission:
    """POST until accepted; a 503 (broker unreachable) is honoured with its Retry-After, as a client should."""
    time.sleep(max(0.0, not_before - time.monotonic()))
    unavailable = 0
    while True:
        started = time.monotonic()
        with clip.open("rb") as body:
            response = client.post(
                "/v1/jobs", files={"file": (clip.name, body, "video/mp4")}, data={"webhook_url": webhook_url}
            )
        if response.status_code == 202:
            return Submission(response.json()["job_id"], started, time.monotonic() - started, unavailable)
        assert response.status_code == 503, f"{response.status_code}: {response.text}"
        assert "Retry-After" in response.headers
        unavailable += 1
        assert time.monotonic() < deadline, "ingest kept answering 503"
        time.sleep(min(float(response.headers["Retry-After"]), 2.0))


def _parked_messages(stack: StackSettings) -> list[dict[str, Any]]:
    """Everything in the parking queue, read through the management API without consuming it."""
    with RabbitMQManagementClient(stack.rabbitmq_management_url) as rabbitmq:
        body = {"count": 10000, "ackmode": "ack_requeue_true", "encoding": "auto"}
        return list(rabbitmq.call("POST", "/queues/%2F/reelscope.parked/get", body))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


@pytest.mark.timeout(RUN_LIMIT_S + 600)  # the run's own deadline, plus the stack's start and the final checks
def test_no_job_lost_stuck_or_done_twice_under_faults(
    fault_stack: StackSettings, webhook_receiver: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """N jobs while workers are SIGKILLed and restarted, RabbitMQ restarts and the collector is down for 30 s:
    submitted = final, 0 lost, 0 stuck, 0 duplicate outputs, one delivery id per job, every parked message
    accounted for; telemetry resumes after the collector returns."""
    clips = _clips(tmp_path / "clips")
    began = time.monotonic()
    run_deadline = began + RUN_LIMIT_S
    controller = Controller(fault_stack, seed=JOBS, kill_budget=max(8, JOBS // 20))
    controller.start()
    try:
        submissions: list[Submission] = []
        with (
            httpx.Client(
                base_url=fault_stack.ingest_url,
                timeout=60,
                headers={"Authorization": f"Bearer {fault_stack.api_key_file.read_text().strip()}"},
            ) as client,
            ThreadPoolExecutor(SUBMITTERS) as pool,
        ):
            # Paced over at least a minute, so jobs are in flight through every fault.
            pace = SUBMIT_OVER_S / JOBS
            futures = [
                pool.submit(
                    _submit, client, clips[i % len(clips)], webhook_receiver.url, began + i * pace, run_deadline
                )
                for i in range(JOBS)
            ]
            try:
                submissions = [f.result() for f in futures]
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            submitted_by = time.monotonic()
            finals: dict[str, dict[str, Any]] = {}
            while time.monotonic() < run_deadline and (
                len(finals) < len(submissions) or not controller.scheduled_done.is_set()
            ):
                for submission in submissions:
                    if submission.job_id not in finals:
                        job = client.get(f"/v1/jobs/{submission.job_id}").json()
                        if job["status"] in FINAL:
                            finals[submission.job_id] = job
                time.sleep(1)
            finished_by = time.monotonic()
            unfinished = {
                s.job_id: client.get(f"/v1/jobs/{s.job_id}").json().get("status")
                for s in submissions
                if s.job_id not in finals
            }
    finally:  # never leave the controller restarting processes once the test is over (or failed)
        controller.stopping.set()
        controller.join(timeout=180)
    assert controller.error is None, controller.error
    # Webhooks: wait for the stragglers (the notification worker may just have been restarted).
    notice_deadline = time.monotonic() + 120
    while time.monotonic() < notice_deadline and any(not webhook_receiver.of_job(j) for j in finals):
        time.sleep(1)
    time.sleep(3)

    accepted = {s.job_id for s in submissions}
    statuses = Counter(job["status"] for job in finals.values())
    delivery_ids = {j: {d["headers"]["X-Reelscope-Delivery"] for d in webhook_receiver.of_job(j)} for j in accepted}
    deliveries = sum(len(webhook_receiver.of_job(j)) for j in accepted)
    repeated = deliveries - sum(len(ids) for ids in delivery_ids.values())
    duplicate_outputs = _duplicate_outputs(fault_stack, finals)
    staging_left = [p for p in (fault_stack.storage_dir / ".staging").rglob("*") if p.is_file()]
    parked = _parked_messages(fault_stack)
    parked_jobs = {json.loads(m["payload"]).get("job_id") for m in parked if m.get("payload_encoding") == "string"}
    latencies = [
        _seconds(job["finished_at"], job["created_at"]) for job in finals.values() if job["status"] == "completed"
    ]
    chaos = controller.chaos
    counted = _counted_by_prometheus(fault_stack)
    outage = chaos.collector_down or (0.0, 0.0)
    in_outage = [outage[0] <= s.submitted_at <= outage[1] for s in submissions]
    during_outage = [s.post_seconds for s, inside in zip(submissions, in_outage, strict=True) if inside]
    outside_outage = [s.post_seconds for s, inside in zip(submissions, in_outage, strict=True) if not inside]
    spans_after_outage = [
        s for s in read_spans(fault_stack.telemetry_dir / "traces.jsonl") if s.end_ns / 1e9 > _wall(outage[1])
    ]

    figures = {
        "jobs submitted": len(submissions),
        "jobs in a final state": len(finals),
        "  completed / failed / cancelled": f"{statuses['completed']} / {statuses['failed']} / {statuses['cancelled']}",
        "lost (accepted, unknown to the API)": sum(1 for s in unfinished.values() if s is None),
        "stuck (not final at the deadline)": len(unfinished),
        "duplicate outputs": len(duplicate_outputs),
        "staging files left behind": len(staging_left),
        "jobs with exactly one delivery id": sum(1 for ids in delivery_ids.values() if len(ids) == 1),
        "webhook POSTs / repeats of a delivery id": f"{deliveries} / {repeated}",
        "parked messages (all of failed jobs)": len(parked),
        "workers SIGKILLed": ", ".join(f"{name} {count}" for name, count in sorted(chaos.kills.items())),
        "RabbitMQ restart (s down)": f"{_span(chaos.broker_down):.1f}",
        "collector outage (s)": f"{_span(chaos.collector_down):.1f}",
        "503 answers honoured by the submitters": sum(s.unavailable_answers for s in submissions),
        "POST p50 during / outside collector outage (ms)": (
            f"{1000 * _median(during_outage):.0f} / {1000 * _median(outside_outage):.0f}"
        ),
        "job latency p50 / p95 / max (s)": (
            f"{_percentile(latencies, 0.5):.1f} / {_percentile(latencies, 0.95):.1f} / {max(latencies, default=0):.1f}"
        ),
        "spans exported after the collector returned": len(spans_after_outage),
        "redelivered / duplicates skipped / retried (Prometheus)": " / ".join(
            f"{counted[name]:.0f}" for name in ("redelivered", "duplicates_skipped", "retried")
        ),
        "broker reconnects (Prometheus)": f"{counted['reconnects']:.0f}",
        "submitting took / all final after (s)": f"{submitted_by - began:.0f} / {finished_by - began:.0f}",
    }
    with capsys.disabled():
        print(f"\n\nFault suite, {JOBS} jobs:")
        for name, value in figures.items():
            print(f"  {name:<58} {value}")
        print(f"  controller: {'; '.join(chaos.log)}\n")

    assert not unfinished, f"not final: {unfinished}"
    assert len(finals) == len(submissions) == JOBS
    assert not duplicate_outputs, duplicate_outputs
    assert not staging_left, staging_left
    assert all(len(ids) == 1 for ids in delivery_ids.values()), {j: i for j, i in delivery_ids.items() if len(i) != 1}
    failed = {j for j, job in finals.items() if job["status"] != "completed"}
    assert parked_jobs <= failed | {None}, "every parked message belongs to a job that failed"
    assert statuses["completed"] >= 0.99 * JOBS, {j: finals[j].get("failure") for j in failed}
    assert sum(chaos.kills.values()) >= 3
    assert chaos.broker_down is not None
    assert spans_after_outage, "telemetry resumed after the collector came back"


def _duplicate_outputs(stack: StackSettings, finals: dict[str, dict[str, Any]]) -> list[str]:
    """Files of a job's renditions that are not exactly the job's recorded renditions (extra or missing)."""
    problems: list[str] = []
    for job_id, job in finals.items():
        folder = stack.storage_dir / "jobs" / job_id / "media" / "renditions"
        stored = (
            sorted(p.relative_to(stack.storage_dir).as_posix() for p in folder.glob("*")) if folder.exists() else []
        )
        recorded = sorted(r["key"] for r in job.get("renditions", []))
        if stored != recorded:
            problems.append(f"{job_id}: stored {stored}, recorded {recorded}")
    return problems


def _counted_by_prometheus(stack: StackSettings) -> dict[str, float]:
    """Totals over every process that ever ran (a killed worker's series ends, its replacement starts anew; the
    last export before a SIGKILL is all that survives of the victim, so these are lower bounds)."""
    time.sleep(12)  # one metric export interval and one scrape after the last job
    names = {
        "redelivered": "reelscope_messages_redelivered_total",
        "duplicates_skipped": "reelscope_messages_duplicates_skipped_total",
        "retried": "reelscope_messages_retried_total",
        "reconnects": "reelscope_broker_reconnects_total",
    }
    with PrometheusClient(stack.prometheus_url) as prometheus:
        return {
            short: sum(float(r["value"][1]) for r in prometheus.query(f"sum(max_over_time({metric}[2h]))"))
            for short, metric in names.items()
        }


def _seconds(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def _wall(monotonic: float) -> float:
    """A monotonic timestamp of this process as Unix time."""
    return time.time() - (time.monotonic() - monotonic)


def _span(window: tuple[float, float] | None) -> float:
    return window[1] - window[0] if window else float("nan")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
