"""`make demo`: start the stack, submit a speaking test clip, follow it, and show its result, its
trace, its logs and Prometheus's numbers. Exits non-zero unless the job completed and its trace holds
spans of all four services."""

import sys
import time

from reelscope_cli.client import ApiClient, PrometheusClient
from reelscope_cli.main import format_log
from reelscope_cli.otlp_files import SpanRecord, format_tree, read_logs, read_spans
from reelscope_cli.samples import DEMO_SENTENCE, make_speech_clip
from reelscope_cli.stack.main import up
from reelscope_cli.stack.settings import StackSettings

SERVICES = {"ingest", "transcode", "transcription", "notification"}


def wait_for_trace(settings: StackSettings, trace_id: str, timeout_s: float = 30.0) -> list[SpanRecord]:
    """Spans arrive a moment after the job ends (batching); wait until all four services are in."""
    deadline = time.monotonic() + timeout_s
    while True:
        spans = [s for s in read_spans(settings.telemetry_dir / "traces.jsonl") if s.trace_id == trace_id]
        if {s.service for s in spans} >= SERVICES or time.monotonic() > deadline:
            return spans
        time.sleep(1)


def prometheus_numbers(settings: StackSettings, timeout_s: float = 45.0) -> list[str]:
    prometheus = PrometheusClient(settings.prometheus_url)
    deadline = time.monotonic() + timeout_s
    # Each service exports on its own schedule: wait until the job's outcome and both media stages are in.
    while time.monotonic() < deadline and not (
        prometheus.query("reelscope_jobs_finished_total")
        and len(prometheus.query("reelscope_stage_cpu_time_seconds_total")) >= 2
    ):
        time.sleep(2)
    queries = {
        "jobs submitted": "sum(reelscope_jobs_submitted_total)",
        "jobs finished, by outcome": "sum by (reelscope_job_outcome) (reelscope_jobs_finished_total)",
        "job duration p50 (s)": "histogram_quantile(0.5, sum by (le) (reelscope_job_duration_seconds_bucket))",
        "CPU seconds, by stage": "sum by (reelscope_stage) (reelscope_stage_cpu_time_seconds_total)",
        "recogniser real-time factor p50": (
            "histogram_quantile(0.5, sum by (le) (reelscope_asr_realtime_factor_bucket))"
        ),
        "stage duration p95 (s), by stage": (
            "histogram_quantile(0.95, sum by (le, reelscope_stage) (reelscope_stage_duration_seconds_bucket))"
        ),
        "ingest HTTP requests": "sum by (http_route, http_response_status_code) "
        "(http_server_request_duration_seconds_count)",
    }
    lines = []
    for title, promql in queries.items():
        for sample in prometheus.query(promql):
            labels = ", ".join(f"{k}={v}" for k, v in sample["metric"].items())
            lines.append(f"  {title:<34} {labels:<52} {float(sample['value'][1]):.3f}")
    return lines


def main() -> int:
    settings = StackSettings()
    up(settings)
    clip = make_speech_clip(settings.run_dir / "demo" / "sample.mp4")
    print(f"Sample clip: {clip} (says: “{DEMO_SENTENCE}”)\n")
    api = ApiClient.for_stack(settings)
    accepted = api.submit(clip, hls=True)
    job_id, trace_id = accepted["job_id"], accepted["trace_id"]
    print(f"Submitted job {job_id} (trace {trace_id})")
    job = api.wait(job_id, timeout_s=300, show=True)

    print(f"\n== Result: {job['status']} in {job['duration_s']:.1f} s")
    for rendition in job["renditions"]:
        print(
            f"  {rendition['name']:>6}  {rendition['width']}x{rendition['height']}  "
            f"{rendition['size_bytes'] / 1024:.0f} KiB  {settings.storage_dir / rendition['key']}"
        )
    for skipped in job["skipped_renditions"]:
        print(f"  {skipped['name']:>6}  skipped: {skipped['reason']}")
    for title, key in (("HLS master", job["hls_master_key"]), ("poster", job["poster_key"])):
        if key:
            print(f"  {title}: {settings.storage_dir / key}")
    if job["transcript"]:
        print(f"  transcript ({job['transcript']['language']}): “{job['transcript']['text']}”")
    print(
        f"  estimated cost: {job['cost']['amount']:.6f} {job['cost']['currency']} ({job['cost']['cpu_seconds']} CPU s)"
    )
    if job["failure"]:
        print(f"  failure: {job['failure']}")

    spans = wait_for_trace(settings, trace_id)
    print(f"\n== Trace {trace_id} ({len(spans)} spans)")
    print(format_tree(spans))

    logs = sorted(
        (r for r in read_logs(settings.telemetry_dir / "logs.jsonl") if r.trace_id == trace_id),
        key=lambda r: r.time_ns,
    )
    print(f"\n== Log lines of the job ({len(logs)})")
    for record in logs:
        print(format_log(record.time_ns, record.service, record.severity, record.body, record.attributes))

    print(f"\n== Prometheus ({settings.prometheus_url})")
    print("\n".join(prometheus_numbers(settings)))

    services = {s.service for s in spans}
    if job["status"] != "completed" or not services >= SERVICES:
        print(f"\nDEMO FAILED: job {job['status']}, services in trace: {sorted(services)}", file=sys.stderr)
        return 1
    print(f"\nDemo OK: job completed; one trace with spans from {', '.join(sorted(services))}.")
    print("Stop the stack with `make down`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
