"""Pipeline overhead and throughput on the running local stack, from the jobs' own traces.

- **Overhead**: M small jobs (a 320x240 clip with a spoken sentence, a webhook to a local receiver), one at a
  time so none waits behind another. A job's end-to-end time runs from the start of its `POST /v1/jobs` span to
  the end of the last span of its trace (ingest recording the notification); the media work is every `ffprobe`,
  `ffmpeg.*` and `asr.recognize` span. What is left is orchestration: three broker hops, the database updates,
  the notification. It is also split by where it is spent (in each service, and between them).
- **Throughput**: N more jobs submitted at once. Jobs per minute from the first submission to the last
  notification, against the CPU-bound limit: cores x 60 s / CPU seconds per job, where CPU seconds are what the
  pipeline's processes (the four services with their ffmpeg and recogniser processes, RabbitMQ and the collector)
  used during that run, divided by N.
- **Memory**: resident set size of each service's own process idle (before the jobs) and its peak under the
  throughput run, sampled every 0.2 s; the recogniser processes (transcription's pool, where the model lives)
  are reported on their own.
"""

import asyncio
import http.server
import json
import os
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from reelscope_cli.client import ApiClient
from reelscope_cli.load_report import percentile
from reelscope_cli.otlp_files import SpanRecord, read_spans
from reelscope_cli.samples import make_speech_clip
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings
from reelscope_transcode.probe import ffprobe

from reelscope_bench.report import Section, at_least, at_most

SENTENCE = "reelscope measures its own pipeline"
CLIP_SIZE = "320x240"
SERVICES = ("ingest", "transcode", "transcription", "notification")
INFRASTRUCTURE = ("rabbitmq", "otel-collector")
MEDIA_SPANS = ("ffprobe", "asr.recognize")
MEDIA_PREFIX = "ffmpeg."
JOB_TIMEOUT_S = 120.0
TRACE_TIMEOUT_S = 60.0
RSS_LIMIT_MB = 150.0
POLL_S = 0.3

# The chain of spans a job's critical path goes through, after the submission: (service, routing key) of each
# consumer span, in order. Ingest's other consumer spans (stage started, transcoded, completed) run beside it.
CHAIN = (
    ("transcode", "job.submitted"),
    ("transcription", "job.transcoded"),
    ("notification", "job.completed"),
    ("ingest", "job.notified"),
)


class Deliveries:
    """Webhook deliveries received, by job id: the benchmark waits on these instead of polling the API (polling
    ten times a second would load ingest, and the machine, with work that is not the pipeline's)."""

    def __init__(self) -> None:
        self._arrived: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def _event(self, job_id: str) -> threading.Event:
        with self._lock:
            return self._arrived.setdefault(job_id, threading.Event())

    def record(self, body: bytes) -> None:
        try:
            job_id = json.loads(body)["job_id"]
        except (ValueError, KeyError, TypeError):
            return
        self._event(str(job_id)).set()

    def wait(self, job_id: str, timeout_s: float) -> bool:
        return self._event(job_id).wait(timeout_s)


def _receiver(deliveries: Deliveries) -> type[http.server.BaseHTTPRequestHandler]:
    class Receiver(http.server.BaseHTTPRequestHandler):
        """Accepts every delivery: the notification hop is real, its target costs next to nothing."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()
            deliveries.record(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Receiver


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, Deliveries]]:
    """A local webhook endpoint (its URL) and what it received."""
    deliveries = Deliveries()
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _receiver(deliveries)) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/hook", deliveries
        finally:
            server.shutdown()


def _is_media(span: SpanRecord) -> bool:
    return span.name in MEDIA_SPANS or span.name.startswith(MEDIA_PREFIX)


def _union_s(intervals: list[tuple[int, int]]) -> float:
    """Seconds covered by the intervals (nanoseconds), overlaps counted once."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total / 1e9


def _chain_span(spans: list[SpanRecord], service: str, routing_key: str) -> SpanRecord | None:
    return next(
        (s for s in spans if s.service == service and s.kind == "CONSUMER" and f":{routing_key}:" in f"{s.name}:"),
        None,
    )


@dataclass(frozen=True)
class JobTiming:
    """One job's trace, reduced: end to end, in media tools, the rest by the service it was spent in, and the
    time no span of the critical path was open (a message waiting in the broker or in a consumer's prefetch)."""

    end_to_end_s: float
    media_s: float
    in_services_s: dict[str, float]
    between_services_s: float

    @property
    def overhead_s(self) -> float:
        return self.end_to_end_s - self.media_s


def job_timing(spans: list[SpanRecord]) -> JobTiming:
    """`spans` is one complete job trace. Time inside a service is its span on the critical path (the submission's
    server span, then each consumer span of CHAIN) less the media spans under it."""
    start = min(s.start_ns for s in spans)
    end = max(s.end_ns for s in spans)
    media = [s for s in spans if _is_media(s)]
    submission = next(s for s in spans if s.kind == "SERVER" and s.service == "ingest")
    path = [("ingest (submission)", submission)]
    path += [
        (f"{service} ({key})", span) for service, key in CHAIN if (span := _chain_span(spans, service, key)) is not None
    ]
    in_services = {}
    for label, span in path:
        inside = [(m.start_ns, m.end_ns) for m in media if span.start_ns <= m.start_ns and m.end_ns <= span.end_ns]
        in_services[label] = span.duration_s - _union_s(inside)
    covered = _union_s([(span.start_ns, span.end_ns) for _, span in path])
    return JobTiming(
        (end - start) / 1e9,
        _union_s([(m.start_ns, m.end_ns) for m in media]),
        in_services,
        (end - start) / 1e9 - covered,
    )


def _complete(spans: list[SpanRecord]) -> bool:
    return all(_chain_span(spans, service, key) is not None for service, key in CHAIN) and any(
        s.kind == "SERVER" for s in spans
    )


def collect_traces(settings: StackSettings, trace_ids: list[str]) -> dict[str, list[SpanRecord]]:
    """Every job's trace once the collector has written all of it (batching delays the last spans)."""
    deadline = time.monotonic() + TRACE_TIMEOUT_S
    wanted = set(trace_ids)
    while True:
        traces: dict[str, list[SpanRecord]] = {trace_id: [] for trace_id in wanted}
        for span in read_spans(settings.telemetry_dir / "traces.jsonl"):
            if span.trace_id in wanted:
                traces[span.trace_id].append(span)
        if all(_complete(spans) for spans in traces.values()):
            return traces
        if time.monotonic() > deadline:
            missing = sum(not _complete(spans) for spans in traces.values())
            raise RuntimeError(f"{missing} of {len(wanted)} job traces incomplete after {TRACE_TIMEOUT_S:g} s")
        time.sleep(1.0)


def _wait_notified(api: ApiClient, deliveries: Deliveries, job_id: str) -> dict[str, Any]:
    """The job once its webhook arrived and ingest recorded the notification (the end of its trace)."""
    if not deliveries.wait(job_id, JOB_TIMEOUT_S):
        job = api.job(job_id)
        raise RuntimeError(f"benchmark job {job_id} not notified after {JOB_TIMEOUT_S:g} s: {job['status']}")
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        # Read after ingest had time to record the notification: a GET racing the job's last event would be
        # measured as part of it.
        time.sleep(POLL_S)
        job = api.job(job_id)
        if job["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"benchmark job {job_id} {job['status']}: {job.get('failure')}")
        notified = any(stage["name"] == "notification" and stage["status"] == "succeeded" for stage in job["stages"])
        if job["status"] == "completed" and notified:  # ingest may record the completion after the webhook left
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark job {job_id}: its notification was never recorded")


class _Pipeline:
    """The stack's processes, found by the PIDs `reelscope-stack up` recorded."""

    def __init__(self, settings: StackSettings) -> None:
        manager = ProcessManager(settings.run_dir)
        self.processes: dict[str, psutil.Process] = {}
        for name in (*SERVICES, *INFRASTRUCTURE):
            pid = manager.pid_of(name)
            if pid is None:
                raise RuntimeError(f"the stack's {name} is not running")
            self.processes[name] = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        """CPU used so far by every pipeline process and its children (waited-for ones included)."""
        total = 0.0
        for process in self.processes.values():
            try:
                tree = [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for member in tree:
                try:
                    times = member.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system + times.children_user + times.children_system
        return total

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each service's own process, and of transcription's recogniser processes together."""
        sizes = {name: self.processes[name].memory_info().rss / 2**20 for name in SERVICES}
        recognisers = [
            child for child in self.processes["transcription"].children(recursive=True) if "python" in child.name()
        ]
        sizes["transcription recognisers"] = sum(child.memory_info().rss for child in recognisers) / 2**20
        return sizes


class _PeakSampler:
    """The highest RSS seen per process while running (sampled in a thread)."""

    def __init__(self, pipeline: _Pipeline, interval_s: float = 0.2) -> None:
        self.pipeline = pipeline
        self.interval_s = interval_s
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for name, size in self.pipeline.rss_mb().items():
                    self.peak[name] = max(self.peak.get(name, 0.0), size)
            except psutil.NoSuchProcess:
                pass
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "_PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
    }


def run(
    settings: StackSettings, work: Path, latency_jobs: int = 20, throughput_jobs: int = 16
) -> tuple[Section, Section]:
    """The pipeline section (overhead, throughput) and the memory section, measured in one run."""
    clip = make_speech_clip(work / "small.mp4", SENTENCE, size=CLIP_SIZE)
    pipeline = _Pipeline(settings)
    idle_rss = pipeline.rss_mb()
    with ApiClient.for_stack(settings, timeout_s=60) as api, webhook_receiver() as (webhook, deliveries):
        warm = api.submit(clip, webhook_url=webhook)  # first job warms caches and connections; not counted
        _wait_notified(api, deliveries, warm["job_id"])

        sequential: list[str] = []
        for _ in range(latency_jobs):
            accepted = api.submit(clip, webhook_url=webhook)
            _wait_notified(api, deliveries, accepted["job_id"])
            sequential.append(accepted["trace_id"])

        cpu_before = pipeline.cpu_seconds()
        started = time.monotonic()
        with _PeakSampler(pipeline) as sampler:
            burst = [api.submit(clip, webhook_url=webhook) for _ in range(throughput_jobs)]
            for accepted in burst:
                _wait_notified(api, deliveries, accepted["job_id"])
            elapsed = time.monotonic() - started
        cpu_used = pipeline.cpu_seconds() - cpu_before

    timings = [job_timing(spans) for spans in collect_traces(settings, sequential).values()]
    overhead = [t.overhead_s for t in timings]
    by_place = {label: [t.in_services_s.get(label, 0.0) for t in timings] for label in timings[0].in_services_s}
    cores = len(os.sched_getaffinity(0))
    cpu_per_job = cpu_used / throughput_jobs
    jobs_per_min = throughput_jobs / elapsed * 60
    limit_per_min = cores * 60 / cpu_per_job
    media_seconds = asyncio.run(ffprobe(clip, timeout_s=30, grace_s=1)).duration_s or 0.0

    pipeline_section = Section(
        "pipeline",
        "Pipeline",
        {
            "clip": f"{CLIP_SIZE}, {media_seconds:.1f} s, speech; webhook to a local receiver",
            "latency_jobs": latency_jobs,
            "end_to_end": _ms([t.end_to_end_s for t in timings]),
            "media_tools": _ms([t.media_s for t in timings]),
            "overhead": _ms(overhead),
            "overhead_p50_ms_by_place": {label: percentile(v, 50) * 1000 for label, v in by_place.items()}
            | {"between services (broker hops, waits)": percentile([t.between_services_s for t in timings], 50) * 1000},
            "throughput_jobs": throughput_jobs,
            "throughput_seconds": elapsed,
            "jobs_per_minute": jobs_per_min,
            "cpu_seconds_per_job": cpu_per_job,
            "cores": cores,
            "cpu_bound_limit_jobs_per_minute": limit_per_min,
            "throughput_vs_cpu_limit": jobs_per_min / limit_per_min,
        },
        [
            at_most("overhead.p50_ms", percentile(overhead, 50) * 1000, 30),
            at_most("overhead.p99_ms", percentile(overhead, 99) * 1000, 100),
            at_least("throughput_vs_cpu_limit", jobs_per_min / limit_per_min, 0.85),
        ],
    )
    peak = sampler.peak
    memory_section = Section(
        "memory",
        "Memory",
        {"rss_idle_mb": idle_rss, "rss_peak_under_load_mb": peak},
        [at_most(f"{name}.rss_peak_mb", peak[name], RSS_LIMIT_MB) for name in SERVICES],
    )
    return pipeline_section, memory_section
