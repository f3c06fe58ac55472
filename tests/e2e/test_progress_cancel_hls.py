"""Progress, cancellation and HLS end to end on the local stack (real RabbitMQ, ffmpeg, recogniser,
collector): what a user sees through the API, in storage, in webhooks and in the job's trace."""

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from reelscope_cli.client import ApiClient
from reelscope_cli.otlp_files import read_spans
from reelscope_cli.samples import make_speech_clip
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

PARAGRAPH = (
    "the committee met on tuesday to review the plans for the new library. after a long discussion "
    "about the budget, the members agreed to build it near the old market square. construction will "
    "start in the spring and should take about two years. the mayor thanked everyone for their patience "
    "and promised to publish the final drawings before the summer holidays."
)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 25 s of 1080p speech: long enough to watch progress and to cancel mid-transcode."""
    return make_speech_clip(tmp_path_factory.mktemp("media") / "long.mp4", PARAGRAPH, "1920x1080")


def _ffmpeg_running_for(job_id: str) -> bool:
    found = subprocess.run(["pgrep", "-f", f"ffmpeg.*{job_id}"], capture_output=True, check=False)
    return found.returncode == 0


async def test_progress_is_reported_throttled_and_reaches_100(
    local_stack: StackSettings, rabbitmq_url: str, long_clip: Path
) -> None:
    """While a job runs the API shows rising per-stage and overall percent with an ETA; the workers send at most
    about one progress event per second per stage; the job ends at 100 %."""
    connection = await aio_pika.connect(rabbitmq_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange("reelscope")
    tap = await channel.declare_queue(exclusive=True, auto_delete=True)
    await tap.bind(exchange, routing_key="job.progress")
    with ApiClient.for_stack(local_stack) as api:
        accepted = await asyncio.to_thread(api.submit, long_clip)
        job_id = accepted["job_id"]
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job = await asyncio.to_thread(api.job, job_id)
            seen.append(job)
            if job["status"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.25)
    final = seen[-1]
    assert final["status"] == "completed", final
    assert final["progress"]["percent"] == 100.0
    running = [
        (s["name"], s["percent"], s["eta_seconds"]) for job in seen for s in job["stages"] if s["status"] == "running"
    ]
    transcode_seen = [p for name, p, _ in running if name == "transcode"]
    assert any(0 < p < 100 for p in transcode_seen), running
    assert transcode_seen == sorted(transcode_seen), "per-stage progress never goes backwards"
    assert any(eta is not None for _, _, eta in running), running
    overall = [job["progress"]["percent"] for job in seen]
    assert overall == sorted(overall)
    assert any(job["progress"]["eta_seconds"] is not None for job in seen if job["status"] == "processing")

    events: dict[str, list[float]] = {}
    async with tap.iterator(timeout=2) as messages:
        try:
            async for message in messages:
                await message.ack()
                body = json.loads(message.body)
                if body["job_id"] == job_id:
                    events.setdefault(body["stage"], []).append(message.timestamp.timestamp())
        except TimeoutError:
            pass
    await connection.close()
    assert events.get("transcode"), "transcode published progress events"
    assert events.get("transcription"), "transcription published progress events"
    for stage, stamps in events.items():
        stage_row = next(s for s in final["stages"] if s["name"] == stage)
        assert len(stamps) <= stage_row["duration_s"] / 1.0 + 2, (stage, len(stamps), stage_row["duration_s"])


def test_cancel_stops_ffmpeg_removes_outputs_and_notifies(
    local_stack: StackSettings, long_clip: Path, webhook_receiver: Any
) -> None:
    """DELETE during transcode: ffmpeg is gone within seconds, no media is published, later stages never run,
    the webhook says `cancelled`, and the job's trace shows the transcode span where it stopped."""
    url = webhook_receiver.url
    with ApiClient.for_stack(local_stack) as api:
        accepted = api.submit(long_clip, url)
        job_id = accepted["job_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = api.job(job_id)
            transcode = next(s for s in job["stages"] if s["name"] == "transcode")
            if transcode["status"] == "running" and transcode["percent"] > 0:
                break
            assert job["status"] in ("queued", "processing"), job
            time.sleep(0.2)
        assert _ffmpeg_running_for(job_id)
        cancelled = api.cancel(job_id)
        assert cancelled["status"] == "cancelled"
        stop_deadline = time.monotonic() + 10
        while _ffmpeg_running_for(job_id) and time.monotonic() < stop_deadline:
            time.sleep(0.2)
        assert not _ffmpeg_running_for(job_id), "ffmpeg was stopped"
        again = api.cancel(job_id)  # idempotent
        assert again["status"] == "cancelled"
        time.sleep(3)
        final = api.job(job_id)
    assert final["status"] == "cancelled"
    assert {s["name"]: s["status"] for s in final["stages"]}["transcription"] == "cancelled"
    assert final["renditions"] == []
    media = local_stack.storage_dir / "jobs" / job_id / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    assert not list((local_stack.storage_dir / ".staging").glob("*/*")), "staged outputs were discarded"
    notice_deadline = time.monotonic() + 30
    while time.monotonic() < notice_deadline and not webhook_receiver.of_job(job_id):
        time.sleep(0.5)
    notice = webhook_receiver.of_job(job_id)[0]["body"]
    assert notice["status"] == "cancelled"
    assert notice["cancelled_during_stage"] == "transcode"
    trace_deadline = time.monotonic() + 30
    stopped: list[Any] = []
    expected = {"ffmpeg.transcode", "process reelscope:job.submitted:reelscope.transcode"}
    while time.monotonic() < trace_deadline and not expected <= {s.name for s in stopped}:
        spans = [
            s for s in read_spans(local_stack.telemetry_dir / "traces.jsonl") if s.trace_id == accepted["trace_id"]
        ]
        stopped = [s for s in spans if s.service == "transcode" and "reelscope.job.cancelled" in s.events]
        time.sleep(1)
    assert stopped, "the transcode spans record where the job stopped"
    assert all(s.status != "ERROR" for s in stopped)
    assert expected <= {s.name for s in stopped}
    assert "transcription" not in {s.service for s in spans}


def test_hls_job_has_master_variants_segments_and_poster(local_stack: StackSettings, tmp_path: Path) -> None:
    """With hls=true the job publishes a master playlist naming every rendition's variant playlist, whose
    segments exist in storage, plus a JPEG poster."""
    clip = make_speech_clip(tmp_path / "hls.mp4", "one two three four five six seven eight nine ten", "1280x720")
    with ApiClient.for_stack(local_stack) as api:
        job = api.wait(api.submit(clip, hls=True)["job_id"], timeout_s=240)
    assert job["status"] == "completed", job
    storage = local_stack.storage_dir
    master = (storage / job["hls_master_key"]).read_text()
    assert master.startswith("#EXTM3U")
    assert master.count("#EXT-X-STREAM-INF") == len(job["renditions"]) == 2  # 360p and 720p from a 720p source
    assert "RESOLUTION=1280x720" in master
    assert "BANDWIDTH=" in master
    assert "CODECS=" in master
    master_dir = (storage / job["hls_master_key"]).parent
    for rendition in job["renditions"]:
        variant_path = storage / rendition["hls_playlist_key"]
        assert variant_path.relative_to(master_dir).as_posix() in master
        variant = variant_path.read_text()
        assert "#EXT-X-ENDLIST" in variant
        segments = [line for line in variant.splitlines() if line and not line.startswith("#")]
        assert segments
        assert all((variant_path.parent / segment).stat().st_size > 0 for segment in segments)
    poster = (storage / job["poster_key"]).read_bytes()
    assert poster[:3] == b"\xff\xd8\xff"
