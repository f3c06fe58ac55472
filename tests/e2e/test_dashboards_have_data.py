"""Every Prometheus query on every dashboard returns data from the local stack after real traffic, including
the queries that only have data under failure (grafana/README.md lists them): this test causes those failures
first — a file that is not media, a webhook answering 503 twice, a malformed message."""

import json
import time
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli.client import ApiClient, PrometheusClient, RabbitMQManagementClient
from reelscope_cli.dashboards import failure_only_expressions, load_dashboards, promql_targets, substitute_variables
from reelscope_cli.samples import make_garbled_clip, make_speech_clip
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

WINDOW = "30m"  # $__rate_interval here: wide enough to hold this module's traffic and the suite's before it

# Data only where the collector pushes to a backend that can fail, with a sending queue: Tempo and Loki in
# compose and Helm. The local stack writes files, scraped metrics never fail a send, and it has no queues.
NEEDS_PUSH_EXPORTERS = (
    "otelcol_exporter_send_failed_",
    "otelcol_exporter_queue_size",
    "otelcol_exporter_queue_capacity",
)


def _publish_malformed(stack: StackSettings) -> None:
    """A job.submitted without its required fields, straight onto the exchange (RabbitMQ's management API)."""
    body = {
        "routing_key": "job.submitted",
        "payload": json.dumps({"kind": "job.submitted", "job_id": "malformed-dashboards"}),
        "payload_encoding": "string",
        "properties": {"delivery_mode": 2},
    }
    with RabbitMQManagementClient(stack.rabbitmq_management_url) as rabbitmq:
        assert rabbitmq.call("POST", "/exchanges/%2F/reelscope/publish", body)["routed"] is True


@pytest.fixture(scope="module")
def traffic(local_stack: StackSettings, flaky_webhook_receiver: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A good job whose webhook fails twice (retries), a failing job (failure category, error spans) and a
    malformed message (dead letter); then time for one metric export and one scrape."""
    media: Path = tmp_path_factory.mktemp("dashboard-media")
    with ApiClient.for_stack(local_stack) as api:
        good = api.submit(make_speech_clip(media / "speech.mp4", size="320x180"), flaky_webhook_receiver.url)
        # Media that passes ingest's content check (it probes fine) but decodes to nothing: fails in transcode.
        garbled = make_garbled_clip(media / "garbled.mp4", make_speech_clip(media / "whole.mp4", size="320x180"))
        bad = api.submit(garbled, flaky_webhook_receiver.url)
        _publish_malformed(local_stack)
        for accepted in (good, bad):
            api.wait(accepted["job_id"], timeout_s=180)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(flaky_webhook_receiver.of_job(good["job_id"])) < 3:
            time.sleep(1)
    time.sleep(15)  # OTEL_METRIC_EXPORT_INTERVAL (5 s) + Prometheus's scrape interval (5 s), with room


def test_every_dashboard_panel_query_returns_data(
    local_stack: StackSettings, traffic: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each Prometheus target of each dashboard, run against the stack's Prometheus, returns at least one series
    (failure-only queries included, their failures caused above); only push-exporter panels are exempt."""
    failure_only = set(failure_only_expressions())
    empty: list[str] = []
    checked = exempt = 0
    with PrometheusClient(local_stack.prometheus_url) as prometheus:
        for name, dashboard in load_dashboards().items():
            for where, expr in promql_targets(dashboard):
                if any(metric in expr for metric in NEEDS_PUSH_EXPORTERS):
                    exempt += 1
                    continue
                checked += 1
                if not prometheus.query(substitute_variables(expr.replace("$__rate_interval", WINDOW))):
                    empty.append(f"{name} {where}{' (failure-only)' if expr.strip() in failure_only else ''}: {expr}")
    with capsys.disabled():
        print(f"\n  dashboard queries checked against Prometheus: {checked} with data expected, {exempt} exempt")
    assert not empty, "\n".join(empty)
    assert checked >= 60
