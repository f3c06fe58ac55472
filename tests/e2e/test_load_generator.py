"""`reelscope load` on the local stack: a short open-loop run follows every job to its end, the corrupt clips are
refused at the door (415) and counted as rejected, the counts add up and the command prints its summary; a key
throttled by its own rate limit gets 429s that are retried after Retry-After, a bounded number of times; a run in
a background thread is read live and stopped, and Ctrl-C stops submitting and still prints the summary."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from reelscope_cli.client import ApiClient
from reelscope_cli.load import LoadSettings, run_load
from reelscope_cli.load_mix import CLIP_SET_VERSION, ClipKind, parse_mix, prepare_clips
from reelscope_cli.load_report import LoadReport
from reelscope_cli.main import main
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the clips, made once for this module (as `reelscope load` makes them once per run)."""
    cache = tmp_path_factory.mktemp("cache")
    prepare_clips({"short", "speech", "corrupt"}, cache / f"load-clips-{CLIP_SET_VERSION}")
    return cache


def _clips(cache_dir: Path) -> dict[ClipKind, Path]:
    return prepare_clips({"short", "speech", "corrupt"}, cache_dir / f"load-clips-{CLIP_SET_VERSION}")


def test_a_short_run_follows_every_job_to_its_end(local_stack: StackSettings, cache_dir: Path) -> None:
    """2/s for 5 s: 10 submissions on schedule, the 2 corrupt ones rejected with 415, the 8 others completed with a
    latency each; nothing left in flight and every count accounted for."""
    mix = parse_mix("short=2,speech=2,corrupt=1")
    settings = LoadSettings(clips=_clips(cache_dir), mix=mix, rate=2.0, duration_s=5.0, drain_timeout_s=40.0)
    began = time.monotonic()
    with ApiClient.for_stack(local_stack) as api:
        report = run_load(settings, api)

    assert report.submitted == 10
    assert report.in_flight == 0, report
    assert (report.rejected, report.completed, report.failed, report.errors) == (2, 8, 0, 0), report.reasons
    assert report.by_kind == {"short completed": 4, "speech completed": 4, "corrupt rejected": 2}
    assert report.reasons == {"submission answered 415 unsupported_media": 2}
    assert len(report.latencies_s) == 8
    assert all(0 < latency < time.monotonic() - began for latency in report.latencies_s)
    assert report.elapsed_s >= 4.5  # open loop: the last submission left on schedule, 4.5 s in


def test_the_drain_timeout_ends_the_run_and_says_what_is_in_flight(local_stack: StackSettings, cache_dir: Path) -> None:
    """A 20 s clip and no time to drain: the run ends at once, the job counted in flight and named in the report."""
    clips = prepare_clips({"long"}, cache_dir / f"load-clips-{CLIP_SET_VERSION}")
    settings = LoadSettings(
        clips=clips, mix=parse_mix("long=1"), rate=1.0, duration_s=1.0, drain_timeout_s=0.0, poll_interval_s=0.2
    )
    with ApiClient.for_stack(local_stack) as api:
        report = run_load(settings, api)
    assert (report.submitted, report.in_flight, report.completed) == (1, 1, 0), report
    assert len(report.unfinished) == 1
    assert re.fullmatch(r"\w+ \(long, (accepted|queued|processing)\)", report.unfinished[0]), report.unfinished
    assert report.elapsed_s < 5


def test_the_command_prints_progress_and_a_summary(
    local_stack: StackSettings, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reelscope load` against the stack: progress lines, then the summary with counts, throughput, latency
    percentiles and the grouped refusal; exit 0 although some jobs were refused."""
    monkeypatch.setenv("REELSCOPE_API_URL", local_stack.ingest_url)
    monkeypatch.setenv("REELSCOPE_API_KEY", local_stack.api_key_file.read_text().strip())
    monkeypatch.setenv("REELSCOPE_CACHE_DIR", str(cache_dir))

    code = main(["load", "--rate", "2", "--duration", "1.5", "--mix", "short=2,corrupt=1", "--drain-timeout", "30"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"clips in {cache_dir / f'load-clips-{CLIP_SET_VERSION}'}" in out
    assert re.search(r"submitted \d+  completed \d+  failed 0  rejected \d+", out), out  # the progress line
    assert "load run: " in out
    assert "3 submitted" in out
    assert "completed 2  failed 0  cancelled 0  rejected 1  errors 0  unfinished 0" in out, out
    assert re.search(r"throughput [\d.]+ completed/min", out), out
    assert re.search(r"p50 [\d.]+s  p95 [\d.]+s  p99 [\d.]+s  max [\d.]+s", out), out
    assert "    1  submission answered 415 unsupported_media" in out, out


def test_a_throttled_key_is_retried_after_retry_after_then_given_up(
    local_stack: StackSettings, cache_dir: Path
) -> None:
    """A key limited to 2 submissions a minute: the first 2 are accepted, the next 2 get 429 with Retry-After, are
    retried (bounded: 2 tries, waits capped at 0.5 s) and end as errors saying so; `throttled` counts each 429."""
    admin_key = local_stack.api_key_file.read_text().strip()
    made = httpx.post(
        f"{local_stack.ingest_url}/v1/keys",
        json={"name": "load-throttled", "submissions_per_minute": 2},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert made.status_code == 201, made.text
    settings = LoadSettings(
        clips=_clips(cache_dir),
        mix=parse_mix("short=1"),
        rate=4.0,
        duration_s=1.0,
        drain_timeout_s=30.0,
        max_tries=2,
        max_retry_wait_s=0.5,
    )
    with ApiClient(local_stack.ingest_url, made.json()["key"]) as api:
        report = run_load(settings, api)

    assert report.submitted == 4
    assert (report.completed, report.errors, report.in_flight) == (2, 2, 0), report
    assert report.throttled == 4  # each of the 2 refused submissions tried twice
    assert report.reasons == {"submission answered 429 rate_limited, gave up retrying": 2}


def test_a_background_run_is_read_live_and_stopped(local_stack: StackSettings, cache_dir: Path) -> None:
    """How `reelscope scenario` drives load: run_load in a thread, live counters read from the shared report, and
    the stop event ends submitting long before the 60 s schedule; the jobs already in flight are still followed."""
    report = LoadReport()
    stop = threading.Event()
    settings = LoadSettings(clips=_clips(cache_dir), mix=parse_mix("short=1"), rate=2.0, duration_s=60.0)
    with ApiClient.for_stack(local_stack) as api:
        runner = threading.Thread(target=run_load, args=(settings, api), kwargs={"report": report, "stop": stop})
        runner.start()
        deadline = time.monotonic() + 20
        while report.snapshot().completed < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
    final = report.snapshot()
    assert 3 <= final.submitted < 20, final
    assert (final.completed, final.in_flight) == (final.submitted, 0), final
    assert final.ended_at is not None


def test_ctrl_c_stops_submitting_and_prints_the_summary(local_stack: StackSettings, cache_dir: Path) -> None:
    """SIGINT during a 60 s run: no more submissions, the summary is printed, and the exit status is 0."""
    environment = os.environ | {
        "REELSCOPE_API_URL": local_stack.ingest_url,
        "REELSCOPE_API_KEY": local_stack.api_key_file.read_text().strip(),
        "REELSCOPE_CACHE_DIR": str(cache_dir),
    }
    command = [
        sys.executable,
        "-m",
        "reelscope_cli.main",
        "load",
        "--rate",
        "2",
        "--duration",
        "60",
        "--mix",
        "short=1",
    ]
    with subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert lines[1].startswith("load: 2/s for 60s"), lines
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    submitted = int(re.findall(r"load run: [\d.]+s, (\d+) submitted", out)[0])
    assert 2 <= submitted < 20, out
    assert f"completed {submitted}  failed 0  cancelled 0  rejected 0  errors 0  unfinished 0" in out, out
