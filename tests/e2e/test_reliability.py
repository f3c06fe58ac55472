"""Delivery guarantees on the local stack: a webhook that fails transiently is retried with backoff and the
same delivery id until it answers, and the job records the delivery once."""

import time
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli.client import ApiClient
from reelscope_cli.otlp_files import read_spans
from reelscope_cli.samples import make_silent_clip
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e


def test_webhook_5xx_is_retried_with_the_same_delivery_id(
    local_stack: StackSettings, flaky_webhook_receiver: Any, tmp_path: Path
) -> None:
    """Two 503s then 204: three POSTs, one delivery id, the notification stage `succeeded`, and the job's trace
    holds the three notification attempts, each retry linked to the attempt before."""
    url = flaky_webhook_receiver.url
    with ApiClient.for_stack(local_stack) as api:
        accepted = api.submit(make_silent_clip(tmp_path / "silent.mp4"), url)
        api.wait(accepted["job_id"], timeout_s=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = api.job(accepted["job_id"])
            if next(s for s in job["stages"] if s["name"] == "notification")["status"] != "pending":
                break
            time.sleep(0.5)
    ours = flaky_webhook_receiver.of_job(accepted["job_id"])
    assert len(ours) == 3
    assert len({d["headers"]["X-Reelscope-Delivery"] for d in ours}) == 1
    assert next(s for s in job["stages"] if s["name"] == "notification")["status"] == "succeeded"
    deadline = time.monotonic() + 30
    attempts: list[Any] = []
    while time.monotonic() < deadline and len(attempts) < 3:
        spans = read_spans(local_stack.telemetry_dir / "traces.jsonl")
        attempts = [
            s
            for s in spans
            if s.trace_id == accepted["trace_id"] and s.kind == "CONSUMER" and s.name.endswith("reelscope.notification")
        ]
        time.sleep(1)
    assert sorted(s.attributes.get("reelscope.attempt", 1) for s in attempts) == [1, 2, 3]
    assert [s.status for s in sorted(attempts, key=lambda s: s.attributes.get("reelscope.attempt", 1))] == [
        "ERROR",
        "ERROR",
        "UNSET",
    ]
