"""End to end on the local stack: a job whose webhook URL carries a known secret (as its user-info password
and as a `token=` query parameter) and whose filename holds it too, and a garbled upload (it fails in
transcode) with the same webhook URL; afterwards no exported span or log record, no Prometheus series and
no service's stdout log holds the secret, and its masked form shows where it was.

The local collector masks secrets as well (config.local.yaml), so the exported files alone cannot tell
whose masking worked; the services' stdout logs never pass the collector, and there the masked forms
are the library's own (`token=****`, `:****@`)."""

import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli.client import ApiClient
from reelscope_cli.otlp_files import LogRecord, SpanRecord, read_logs, read_spans
from reelscope_cli.samples import make_garbled_clip, make_speech_clip
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

SECRET = "Zq7xS3cretValu3K9"
SERVICES = ("ingest", "transcode", "transcription", "notification")


@dataclass
class Signals:
    good: dict[str, Any]
    bad: dict[str, Any]
    trace_ids: list[str]
    deliveries: list[dict[str, Any]]
    spans: list[SpanRecord]
    logs: list[LogRecord]
    traces_text: str
    logs_text: str
    metrics_text: str
    stdout: dict[str, str]


def _secret_webhook(receiver_url: str) -> str:
    """The receiver's URL (path kept, so delivery works) with the secret as password and as `token=`."""
    url = urllib.parse.urlsplit(receiver_url)
    return f"{url.scheme}://hook:{SECRET}@{url.netloc}{url.path}?token={SECRET}"


def _notified(spans: list[SpanRecord], trace_id: str) -> bool:
    return any(s.trace_id == trace_id and s.kind == "CLIENT" and s.service == "notification" for s in spans)


@pytest.fixture(scope="module")
def signals(local_stack: StackSettings, webhook_receiver: Any, tmp_path_factory: pytest.TempPathFactory) -> Signals:
    """Run both jobs to their end, wait for their webhooks and telemetry, then read every signal."""
    media: Path = tmp_path_factory.mktemp("secret-media")
    good_clip = make_speech_clip(media / f"clip token={SECRET}.mp4")
    corrupt = make_garbled_clip(media / "broken.mp4", good_clip)  # passes ingest's check, fails in transcode
    webhook = _secret_webhook(webhook_receiver.url)
    with ApiClient.for_stack(local_stack) as api:
        accepted = [api.submit(path, webhook) for path in (good_clip, corrupt)]
        good, bad = (api.wait(a["job_id"], timeout_s=240) for a in accepted)
    traces_file = local_stack.telemetry_dir / "traces.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delivered = all(webhook_receiver.of_job(a["job_id"]) for a in accepted)
        if delivered and all(_notified(read_spans(traces_file), a["trace_id"]) for a in accepted):
            break
        time.sleep(1)
    time.sleep(3)  # the last log batches (500 ms schedule) and a metric export (5 s interval) land
    scrape_url = f"http://127.0.0.1:{local_stack.collector_prometheus_port}/metrics"
    with urllib.request.urlopen(scrape_url, timeout=10) as response:
        metrics_text = response.read().decode()
    return Signals(
        good=good,
        bad=bad,
        trace_ids=[a["trace_id"] for a in accepted],
        deliveries=[d for a in accepted for d in webhook_receiver.of_job(a["job_id"])],
        spans=read_spans(traces_file),
        logs=read_logs(local_stack.telemetry_dir / "logs.jsonl"),
        traces_text=traces_file.read_text(encoding="utf-8"),
        logs_text=(local_stack.telemetry_dir / "logs.jsonl").read_text(encoding="utf-8"),
        metrics_text=metrics_text,
        stdout={name: (local_stack.run_dir / "logs" / f"{name}.log").read_text(errors="replace") for name in SERVICES},
    )


def test_both_jobs_ended_and_their_webhooks_were_delivered(signals: Signals) -> None:
    """The secret-bearing webhook URL was used: the good job completed, the corrupt one failed, both delivered."""
    assert signals.good["status"] == "completed", signals.good
    assert signals.bad["status"] == "failed", signals.bad
    assert {d["body"]["status"] for d in signals.deliveries} >= {"completed", "failed"}, signals.deliveries


def test_no_exported_span_log_or_metric_holds_the_secret(signals: Signals) -> None:
    """Zero hits for the secret in every exported span (attributes, events, status), log record and metric."""
    assert signals.traces_text
    assert signals.logs_text
    assert signals.metrics_text
    assert SECRET not in signals.traces_text
    assert SECRET not in signals.logs_text
    assert SECRET not in signals.metrics_text


def test_no_service_stdout_log_holds_the_secret(signals: Signals) -> None:
    """Zero hits in the four services' stdout logs, which never pass through the collector."""
    for name, text in signals.stdout.items():
        assert text, f"{name} wrote no stdout log"
        assert SECRET not in text, name


def test_no_signal_holds_the_api_key_that_made_the_jobs(local_stack: StackSettings, signals: Signals) -> None:
    """The key's secret part (everything after its visible `rsk_<id>_` prefix) is in no exported span, log record
    or metric and no service's stdout log, although every request carried it."""
    secret_part = local_stack.api_key_file.read_text().strip().split("_", 2)[2]
    assert len(secret_part) >= 40
    for name, text in {
        "traces": signals.traces_text,
        "logs": signals.logs_text,
        "metrics": signals.metrics_text,
    }.items():
        assert secret_part not in text, name
    for name, text in signals.stdout.items():
        assert secret_part not in text, name


def test_stdout_shows_the_librarys_masked_forms(signals: Signals) -> None:
    """The secret was logged and masked, not left out: the filename shows `token=****`, the webhook URL `:****@`."""
    everything = "".join(signals.stdout.values())
    assert "token=****" in signals.stdout["ingest"]
    assert ":****@127.0.0.1" in everything


def test_exported_webhook_call_span_carries_a_masked_url(signals: Signals) -> None:
    """The notification service's HTTP client span still records the webhook URL, with the secret masked."""
    urls = [
        str(s.attributes.get("url.full", ""))
        for s in signals.spans
        if s.kind == "CLIENT" and s.service == "notification" and s.trace_id in signals.trace_ids
    ]
    assert len(urls) >= 2, "a webhook client span per job"
    assert all("****" in url and SECRET not in url for url in urls), urls


def test_exported_submission_log_carries_the_masked_filename(signals: Signals) -> None:
    """Ingest's "job submitted" record for the good job was exported, its filename masked where the secret was."""
    filenames = [
        str(r.attributes.get("filename_"))  # `filename` is a LogRecord field: renamed
        for r in signals.logs
        if r.service == "ingest" and r.body == "job submitted" and r.attributes.get("job_id") == signals.good["job_id"]
    ]
    assert len(filenames) == 1, filenames
    assert filenames[0].startswith("clip "), filenames
    assert "****" in filenames[0], filenames
