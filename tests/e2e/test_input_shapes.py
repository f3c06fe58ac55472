"""Input shapes through the whole pipeline: what the user sees in the job, and what the job's trace says.

The transcode service's own tests cover every shape at the stage (dimensions, rotation, VFR, 10-bit HEVC,
short and long clips); here each shape whose outcome spans services goes through the API on the local
stack: files that are not media (by their content) are refused at the door with 415 and no job; media that
probes fine but cannot be processed fails fast with a precise reason in the job and in the failure span (status
ERROR plus an exception event); a silent video completes with transcription `skipped`; an audio-only
file completes with a transcript and no renditions."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reelscope_cli.client import ApiClient, ApiError
from reelscope_cli.otlp_files import SpanRecord, read_spans
from reelscope_cli.samples import (
    DEMO_SENTENCE,
    make_audio_only_clip,
    make_empty_file,
    make_garbled_clip,
    make_image,
    make_silent_clip,
    make_test_clip,
    make_text_file,
    make_truncated_clip,
    make_unknown_codec_clip,
)
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e

REFUSED_INPUTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zero-byte.mp4": (make_empty_file, "empty"),
    "notes.mp4": (make_text_file, "text"),
    "photo.png": (make_image, "PNG"),
    "holiday.jpg": (make_image, "JPEG"),
    "interrupted.mp4": (
        lambda target: make_truncated_clip(target, make_test_clip(target.with_name("whole.mp4"), duration_s=4)),
        "moov atom not found",
    ),
}
"""Not media by their content (ingest's magic-byte and ffprobe check): 415 `unsupported_media` naming it."""

BAD_INPUTS: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "garbled.mp4": (
        lambda target: make_garbled_clip(target, make_test_clip(target.with_name("whole.mp4"), duration_s=4)),
        "invalid_input",
        "input is corrupt: its container is readable but no picture or sound could be decoded from it",
    ),
    "unknown-codec.avi": (make_unknown_codec_clip, "unsupported_media", "input's video codec is not supported"),
}
"""Media that passes the door (it probes fine) and fails in transcode."""


@pytest.mark.parametrize("name", sorted(REFUSED_INPUTS))
def test_a_file_that_is_not_media_is_refused_at_the_door(name: str, local_stack: StackSettings, tmp_path: Path) -> None:
    """415 problem+json `unsupported_media` whose detail says what the file is; no job is made."""
    make, said = REFUSED_INPUTS[name]
    upload = make(tmp_path / name)
    with ApiClient.for_stack(local_stack) as api, pytest.raises(ApiError) as refused:
        api.submit(upload)
    assert refused.value.status_code == 415, refused.value
    assert refused.value.problem["code"] == "unsupported_media"
    assert said in refused.value.problem["detail"], refused.value.problem


def _trace(settings: StackSettings, trace_id: str, until: Callable[[list[SpanRecord]], bool]) -> list[SpanRecord]:
    deadline = time.monotonic() + 30
    while True:
        spans = [s for s in read_spans(settings.telemetry_dir / "traces.jsonl") if s.trace_id == trace_id]
        if until(spans) or time.monotonic() > deadline:
            return spans
        time.sleep(1)


def _failing_consumer(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [s for s in spans if s.status == "ERROR" and s.service == "transcode" and s.kind == "CONSUMER"]


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_fails_fast_with_its_reason_in_job_and_trace(
    name: str, local_stack: StackSettings, tmp_path: Path
) -> None:
    """The job fails in transcode within seconds, with the documented reason and category; its trace has the
    ERROR span with an exception event carrying the same reason, and transcription never runs."""
    make, category, reason = BAD_INPUTS[name]
    upload = make(tmp_path / name)
    with ApiClient.for_stack(local_stack) as api:
        accepted = api.submit(upload)
        started = time.monotonic()
        job = api.wait(accepted["job_id"], timeout_s=60)
    assert time.monotonic() - started < 20, "bad input fails fast"
    assert job["status"] == "failed", job
    assert job["failure"]["stage"] == "transcode"
    assert job["failure"]["category"] == category
    assert job["failure"]["reason"].startswith(reason), job["failure"]
    assert [s["status"] for s in job["stages"][:2]] == ["failed", "skipped"]
    spans = _trace(local_stack, accepted["trace_id"], lambda spans: bool(_failing_consumer(spans)))
    failing = _failing_consumer(spans)
    assert failing, [(s.name, s.status) for s in spans]
    assert failing[0].status_message == job["failure"]["reason"]
    assert failing[0].attributes["reelscope.failure.category"] == category
    assert "exception" in failing[0].events
    assert "transcription" not in {s.service for s in spans}


def _finish(settings: StackSettings, upload: Path) -> tuple[dict[str, Any], list[SpanRecord]]:
    with ApiClient.for_stack(settings) as api:
        accepted = api.submit(upload)
        job = api.wait(accepted["job_id"], timeout_s=180)
    spans = _trace(
        settings, accepted["trace_id"], lambda spans: any(s.name == "webhook.deliver" for s in spans) or True
    )
    return job, spans


def test_video_without_audio_completes_with_transcription_skipped(local_stack: StackSettings, tmp_path: Path) -> None:
    """Renditions are made; transcription is `skipped` with a reason; the job completes."""
    job, _ = _finish(local_stack, make_silent_clip(tmp_path / "silent.mp4"))
    assert job["status"] == "completed", job
    assert [r["name"] for r in job["renditions"]] == ["360p"]
    transcription = next(s for s in job["stages"] if s["name"] == "transcription")
    assert transcription["status"] == "skipped"
    assert transcription["detail"] == "input has no audio track"
    assert job["transcript"] is None


def test_audio_only_file_completes_with_a_transcript_and_no_renditions(
    local_stack: StackSettings, tmp_path: Path
) -> None:
    """No renditions, no poster, a real transcript of the spoken sentence; the job completes."""
    job, spans = _finish(local_stack, make_audio_only_clip(tmp_path / "speech.m4a"))
    assert job["status"] == "completed", job
    assert job["renditions"] == []
    assert job["poster_key"] is None
    heard = set(job["transcript"]["text"].split())
    spoken = DEMO_SENTENCE.split()
    assert sum(word in heard for word in spoken) / len(spoken) >= 0.7, job["transcript"]
    assert {"transcode", "transcription"} <= {s.service for s in spans}
