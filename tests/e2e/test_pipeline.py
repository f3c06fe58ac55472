"""End to end on the local stack: three jobs (two good clips, one garbled file that passes ingest's content
check and fails in transcode) through real RabbitMQ, ffmpeg, pocketsphinx, the collector and Prometheus;
every assertion reads what the collector exported."""

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli.client import ApiClient, PrometheusClient
from reelscope_cli.otlp_files import LogRecord, SpanRecord, read_logs, read_spans
from reelscope_cli.samples import DEMO_SENTENCE, make_garbled_clip, make_speech_clip
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

SECOND_SENTENCE = "please send the green paper to the office before noon today"
ALL_SERVICES = {"ingest", "transcode", "transcription", "notification"}


@dataclass
class Submitted:
    job_id: str
    trace_id: str
    final: dict[str, Any]


@dataclass
class Run:
    good: list[Submitted]
    bad: Submitted
    spans: list[SpanRecord]
    logs: list[LogRecord]
    deliveries: list[dict[str, Any]]
    settings: StackSettings

    def trace(self, job: Submitted) -> list[SpanRecord]:
        return [s for s in self.spans if s.trace_id == job.trace_id]


def _trace_complete(spans: list[SpanRecord], failed: bool) -> bool:
    names = {s.name for s in spans}
    services = {s.service for s in spans}
    notified = any("job.notified" in n and "ingest.events" in n for n in names)
    webhook_sent = any(s.kind == "CLIENT" and s.service == "notification" for s in spans)
    needed = {"ingest", "transcode", "notification"} if failed else ALL_SERVICES
    return needed <= services and notified and webhook_sent


@pytest.fixture(scope="module")
def run(
    local_stack: StackSettings,
    webhook_receiver: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    """Submit the three jobs, wait for them to end and for their telemetry to be exported."""
    media: Path = tmp_path_factory.mktemp("media")
    url, deliveries = webhook_receiver.url, webhook_receiver.deliveries
    clips = [
        make_speech_clip(media / "one.mp4", DEMO_SENTENCE),
        make_speech_clip(media / "two.mp4", SECOND_SENTENCE, "854x480"),
    ]
    corrupt = make_garbled_clip(media / "broken.mp4", clips[0])  # probes fine (ingest takes it), decodes to nothing
    with ApiClient.for_stack(local_stack) as api:
        accepted = [api.submit(path, url) for path in [*clips, corrupt]]
        finals = [api.wait(a["job_id"], timeout_s=240) for a in accepted]
    jobs = [Submitted(a["job_id"], a["trace_id"], f) for a, f in zip(accepted, finals, strict=True)]
    traces_file = local_stack.telemetry_dir / "traces.jsonl"
    deadline = time.monotonic() + 60
    while True:
        spans = read_spans(traces_file)
        done = all(
            _trace_complete([s for s in spans if s.trace_id == job.trace_id], failed=job is jobs[2]) for job in jobs
        )
        if (done and len(deliveries) >= 3) or time.monotonic() > deadline:
            break
        time.sleep(1)
    time.sleep(2)  # let the last batches (logs, trailing spans) land
    return Run(
        jobs[:2],
        jobs[2],
        read_spans(traces_file),
        read_logs(local_stack.telemetry_dir / "logs.jsonl"),
        list(deliveries),
        local_stack,
    )


def test_good_jobs_complete_and_corrupt_job_fails_with_reason(run: Run) -> None:
    """Good clips complete with renditions; the corrupt file fails in transcode with a readable reason."""
    for job in run.good:
        assert job.final["status"] == "completed", job.final
        assert {r["name"] for r in job.final["renditions"]} <= {"360p", "720p"}
        assert job.final["renditions"], job.final
    assert run.good[1].final["renditions"][0]["height"] == 360  # 480p source: no upscaled 720p
    assert [r["name"] for r in run.good[1].final["renditions"]] == ["360p"]
    bad = run.bad.final
    assert bad["status"] == "failed"
    assert bad["failure"]["stage"] == "transcode"
    assert bad["failure"]["category"] == "invalid_input"
    assert bad["failure"]["reason"].startswith("input is corrupt: its container is readable but no picture")


def test_transcripts_contain_most_spoken_words(run: Run) -> None:
    """pocketsphinx recognises most of each flite-spoken sentence (word recall >= 70 %)."""
    for job, sentence in zip(run.good, (DEMO_SENTENCE, SECOND_SENTENCE), strict=True):
        heard = set(job.final["transcript"]["text"].split())
        spoken = sentence.split()
        recall = sum(word in heard for word in spoken) / len(spoken)
        assert recall >= 0.7, (job.final["transcript"]["text"], recall)
        vtt = (run.settings.storage_dir / job.final["transcript"]["vtt_key"]).read_text()
        assert vtt.startswith("WEBVTT")
        assert "-->" in vtt


def test_exactly_one_trace_per_job(run: Run) -> None:
    """Every span tagged with a job id belongs to that job's one trace, and the trace is the one the API gave."""
    for job in [*run.good, run.bad]:
        tagged = {s.trace_id for s in run.spans if s.attributes.get("reelscope.job.id") == job.job_id}
        assert tagged == {job.trace_id}
        assert all(
            s.attributes.get("reelscope.job.id") == job.job_id
            for s in run.trace(job)
            if s.kind != "SERVER" or s.name.startswith("POST")
        )


def test_good_jobs_have_spans_of_all_four_services(run: Run) -> None:
    """A good job's trace holds ingest, transcode, transcription and notification, ending in the webhook call."""
    for job in run.good:
        spans = run.trace(job)
        assert {s.service for s in spans} == ALL_SERVICES
        names = {s.name for s in spans}
        assert {"ffprobe", "ffmpeg.transcode", "asr.recognize", "webhook.deliver"} <= names
        assert any(s.kind == "CLIENT" and s.attributes.get("http.response.status_code") == 204 for s in spans)


def test_failed_job_trace_ends_in_failure_and_notification(run: Run) -> None:
    """The corrupt file's trace shows the ERROR with its exception event, then the failure notification."""
    spans = run.trace(run.bad)
    failing = [s for s in spans if s.status == "ERROR" and s.service == "transcode" and s.kind == "CONSUMER"]
    assert failing
    assert any("exception" in s.events for s in failing)
    assert failing[0].status_message == run.bad.final["failure"]["reason"]
    assert "transcription" not in {s.service for s in spans}
    assert any(s.service == "notification" and s.kind == "CLIENT" for s in spans)
    body = next(d["body"] for d in run.deliveries if d["body"]["job_id"] == run.bad.job_id)
    assert body["status"] == "failed"
    assert body["reason"] == run.bad.final["failure"]["reason"]
    assert body["failure_category"] == "invalid_input"


def test_every_consumer_span_is_child_of_its_producer_span(run: Run) -> None:
    """Across every hop (ingest→transcode→transcription→notification, and events back to ingest)."""
    by_id = {s.span_id: s for s in run.spans}
    hops = set()
    for job in [*run.good, run.bad]:
        for span in run.trace(job):
            if span.kind != "CONSUMER":
                continue
            parent = by_id[span.parent_span_id]
            assert parent.kind == "PRODUCER"
            assert span.attributes["messaging.destination.name"].startswith(
                parent.attributes["messaging.destination.name"] + ":"
            )
            assert span.attributes["messaging.system"] == "rabbitmq"
            assert span.attributes["messaging.message.id"] == parent.attributes["messaging.message.id"]
            hops.add((parent.service, span.service))
    assert {("ingest", "transcode"), ("transcode", "transcription"), ("transcription", "notification")} <= hops


def test_no_orphan_spans(run: Run) -> None:
    """Every span of every job trace has its parent in the export; each trace has exactly one root."""
    for job in [*run.good, run.bad]:
        spans = run.trace(job)
        ids = {s.span_id for s in spans}
        roots = [s for s in spans if not s.parent_span_id]
        assert [r.name for r in roots] == ["POST /v1/jobs"]
        assert all(s.parent_span_id in ids for s in spans if s.parent_span_id)


def test_every_job_log_line_carries_trace_and_job_id(run: Run) -> None:
    """OTLP log records and stdout JSON lines of a job carry its trace_id and job_id, and agree."""
    for job in [*run.good, run.bad]:
        in_trace = [r for r in run.logs if r.trace_id == job.trace_id]
        assert len(in_trace) >= 5
        assert all(r.attributes.get("job_id") == job.job_id for r in in_trace)
        tagged = [r for r in run.logs if r.attributes.get("job_id") == job.job_id]
        assert {r.trace_id for r in tagged} == {job.trace_id}
    stdout_lines = [
        json.loads(line)
        for log in (run.settings.run_dir / "logs").glob("*.log")
        if log.stem in ALL_SERVICES
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ]
    jobs = {j.job_id: j.trace_id for j in [*run.good, run.bad]}
    job_lines = [line for line in stdout_lines if line.get("job_id") in jobs]
    assert len(job_lines) >= 15
    assert all(line["trace_id"] == jobs[line["job_id"]] and line["service"] for line in job_lines)


def _finished_jobs_in_database(settings: StackSettings) -> dict[str, float]:
    with sqlite3.connect(f"file:{settings.run_dir / 'reelscope-v2.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT status, count(*) FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') GROUP BY status"
        ).fetchall()
    return {status: float(count) for status, count in rows}


def test_prometheus_counts_agree_with_the_database(run: Run) -> None:
    """Prometheus, over HTTP, reports every finished job by outcome exactly as the job database records them
    (through OTLP, the collector and a scrape); other test modules share the stack, so the figures include
    their jobs, and ours are among them."""
    deadline = time.monotonic() + 60
    counts: dict[str, float] = {}
    expected: dict[str, float] = {}
    while time.monotonic() < deadline:
        expected = _finished_jobs_in_database(run.settings)
        with PrometheusClient(run.settings.prometheus_url) as prometheus:
            result = prometheus.query("sum by (reelscope_job_outcome) (reelscope_jobs_finished_total)")
        # Ingest exports every outcome's series from 0 (so rate() sees the first one): an outcome no job had is 0.
        counts = {r["metric"]["reelscope_job_outcome"]: float(r["value"][1]) for r in result if float(r["value"][1])}
        if counts == expected:
            break
        time.sleep(2)
    assert counts == expected
    assert counts["completed"] >= 2
    assert counts["failed"] >= 1


def test_job_duration_exemplars_point_at_exported_traces(run: Run) -> None:
    """Exemplars on reelscope_job_duration_seconds lead to traces that exist in the export."""
    exported = {s.trace_id for s in run.spans}
    ours = {j.trace_id for j in [*run.good, run.bad]}
    deadline = time.monotonic() + 60
    trace_ids: set[str] = set()
    while time.monotonic() < deadline:
        with PrometheusClient(run.settings.prometheus_url) as prometheus:
            series = prometheus.exemplars("reelscope_job_duration_seconds_bucket")
        trace_ids = {e["labels"]["trace_id"] for s in series for e in s["exemplars"]}
        if trace_ids & ours:
            break
        time.sleep(2)
    assert trace_ids & ours
    assert trace_ids <= exported
