"""Crash recovery on the local stack: a transcode worker killed with SIGKILL mid-job loses nothing and does
nothing twice. The broker redelivers the unacked message to the restarted worker, the half-written outputs of the
dead attempt are cleared, and the job completes once, with one notification."""

import time
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli.client import ApiClient
from reelscope_cli.otlp_files import read_spans
from reelscope_cli.samples import make_test_clip
from reelscope_cli.stack.components import services
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e


def test_a_transcode_worker_killed_mid_job_loses_nothing_and_finishes_the_job_once(
    local_stack: StackSettings, webhook_receiver: Any, tmp_path: Path
) -> None:
    """SIGKILL the transcode worker (and its ffmpeg) while it encodes, start it again: the job completes once,
    exactly its renditions are in storage with nothing left in staging, the webhook arrives once, and the trace
    shows the redelivered attempt succeeding."""
    clip = make_test_clip(tmp_path / "big.mp4", size="1920x1080", duration_s=12, audio=False)
    manager = ProcessManager(local_stack.run_dir)
    (transcode,) = [c for c in services(local_stack) if c.name == "transcode"]
    with ApiClient.for_stack(local_stack) as api:
        accepted = api.submit(clip, webhook_receiver.url)
        job_id = accepted["job_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stage = next(s for s in api.job(job_id)["stages"] if s["name"] == "transcode")
            if stage["status"] == "running" and stage["percent"] > 0:
                break
            time.sleep(0.1)
        assert manager.kill(transcode) is not None, "the transcode worker was running"
        staged = [p for p in (local_stack.storage_dir / ".staging").rglob("*") if p.is_file()]
        assert staged, "the killed attempt left half-written outputs behind"
        manager.start(transcode, local_stack.start_timeout_s)
        final = api.wait(job_id, timeout_s=180)
    assert final["status"] == "completed", final
    assert {s["name"]: s["status"] for s in final["stages"]}["transcode"] == "succeeded"
    stored = {
        p.relative_to(local_stack.storage_dir).as_posix(): p.stat().st_size
        for p in (local_stack.storage_dir / "jobs" / job_id / "media" / "renditions").glob("*")
    }
    assert stored == {r["key"]: r["size_bytes"] for r in final["renditions"]}
    assert not [p for p in (local_stack.storage_dir / ".staging").rglob("*") if p.is_file()]
    notice_deadline = time.monotonic() + 30
    while time.monotonic() < notice_deadline and not webhook_receiver.of_job(job_id):
        time.sleep(0.5)
    time.sleep(2)  # room for a second delivery, were there one
    deliveries = webhook_receiver.of_job(job_id)
    assert [d["body"]["status"] for d in deliveries] == ["completed"]
    trace_deadline = time.monotonic() + 30
    redelivered: list[Any] = []
    while time.monotonic() < trace_deadline and not redelivered:
        redelivered = [
            s
            for s in read_spans(local_stack.telemetry_dir / "traces.jsonl")
            if s.trace_id == accepted["trace_id"] and s.attributes.get("reelscope.message.redelivered")
        ]
        time.sleep(1)
    assert [(s.name, s.status) for s in redelivered] == [
        ("process reelscope:job.submitted:reelscope.transcode", "UNSET")
    ]
