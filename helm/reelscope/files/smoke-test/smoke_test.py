"""Reelscope smoke test, run by `helm test` (templates/tests/smoke-test.yaml) inside the transcode image, which has
ffmpeg and Python: make a 2-second clip (test pattern and a 440 Hz tone, no speech), submit it through the ingest
API exactly as the `reelscope` CLI does, wait for the job to complete and check that it reports its trace id.

Standard library only, so it runs in any image with Python and ffmpeg. Settings come from the environment:
  REELSCOPE_API_URL              the ingest API's base URL (required), e.g. http://rs-reelscope-ingest:8080
  REELSCOPE_API_KEY              an API key with the submit and read scopes (required; the chart declares one)
  REELSCOPE_SMOKE_TIMEOUT_S      how long the whole test may take, waiting for the API included (default 300)
  REELSCOPE_SMOKE_HTTP_TIMEOUT_S bound on one HTTP request (default 30)
  REELSCOPE_SMOKE_WORKDIR        where the clip is written (default: the system's temporary directory)
  REELSCOPE_SMOKE_CLIP           submit this file instead of a generated clip (e.g. a sample of your own)
Exit status 0 when the job completed with a trace id; 1 when it failed, was cancelled or the API answered
something unexpected; 2 on a timeout (the message names the stage the job was in); 3 on bad settings."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

TERMINAL = {"completed", "failed", "cancelled"}
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
POLL_INTERVAL_S = 1.0


class SmokeFailed(Exception):
    """The test failed; the message says why and the exit status how (1 wrong answer, 2 timeout, 3 settings)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def say(message: str) -> None:
    print(f"smoke-test: {message}", flush=True)


def setting(
    name: str, default: str | None = None, what: str = "the ingest API's base URL, e.g. http://reelscope-ingest:8080"
) -> str:
    value = os.environ.get(name, "").strip() or default
    if value is None:
        raise SmokeFailed(f"{name} is not set: give {what}", 3)
    return value


def seconds(name: str, default: float) -> float:
    raw = setting(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SmokeFailed(f"{name}={raw!r} is not a number of seconds", 3) from None
    if value <= 0:
        raise SmokeFailed(f"{name}={raw!r} must be positive", 3)
    return value


def make_clip(target: Path) -> Path:
    """A 2-second 640x360 H.264/AAC MP4: ffmpeg's test pattern with a 440 Hz tone (speech-free)."""
    command = [
        "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", str(target),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise SmokeFailed("ffmpeg is not on PATH: run the test in an image that has it (the transcode image)") from None
    except subprocess.TimeoutExpired:
        raise SmokeFailed("ffmpeg took more than 60 s to make a 2-second clip") from None
    if result.returncode != 0:
        raise SmokeFailed(f"ffmpeg could not make the test clip (exit {result.returncode}): {result.stderr.strip()}")
    return target


class Api:
    """The two calls the test needs: POST /v1/jobs (multipart, as `reelscope submit`) and GET /v1/jobs/{id}."""

    def __init__(self, base_url: str, timeout_s: float, api_key: str) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SmokeFailed(f"REELSCOPE_API_URL={base_url!r} is not an http(s) URL", 3)
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._api_key = api_key

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, Any]:
        """Status and decoded JSON body (or text) of one request; connection problems raise URLError/OSError."""
        request = urllib.request.Request(f"{self.base_url}{path}", data=body, method=method)  # noqa: S310 - http(s) only, checked above
        if content_type:
            request.add_header("Content-Type", content_type)
        request.add_header("Accept", "application/json")
        if path.startswith("/v1/"):  # the health endpoints need no key
            request.add_header("Authorization", f"Bearer {self._api_key}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - http(s) only
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def wait_ready(self, deadline: float) -> None:
        """Poll /readyz until the API says it is ready (database and broker up), or fail at the deadline."""
        last = "no answer yet"
        while True:
            try:
                status, body = self.request("GET", "/readyz")
                if status == 200:
                    return
                last = f"/readyz answered {status}: {body}"
            except (urllib.error.URLError, OSError) as error:
                last = f"cannot connect: {getattr(error, 'reason', error)}"
            if time.monotonic() >= deadline:
                raise SmokeFailed(f"the ingest API at {self.base_url} is not ready ({last})", 2)
            time.sleep(POLL_INTERVAL_S)

    def submit(self, clip: Path) -> dict[str, Any]:
        """Upload the clip in the multipart field `file`, as the CLI does; the 202 answer's body."""
        boundary = f"reelscope-smoke-{uuid.uuid4().hex}"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{clip.name}"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        body = head + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        status, answer = self.request("POST", "/v1/jobs", body, f"multipart/form-data; boundary={boundary}")
        if status != 202 or not isinstance(answer, dict) or "job_id" not in answer:
            raise SmokeFailed(f"POST /v1/jobs was refused ({status}): {answer}")
        return answer

    def job(self, job_id: str) -> dict[str, Any]:
        status, answer = self.request("GET", f"/v1/jobs/{job_id}")
        if status != 200 or not isinstance(answer, dict):
            raise SmokeFailed(f"GET /v1/jobs/{job_id} answered {status}: {answer}")
        return answer


def where(job: dict[str, Any]) -> str:
    """Which stage the job is in: the running one with its percentage, else the next pending one."""
    stages: list[dict[str, Any]] = job.get("stages") or []
    for stage in stages:
        if stage.get("status") == "running":
            return f"stage {stage['name']} running, {float(stage.get('percent') or 0):.0f}% done"
    for stage in stages:
        if stage.get("status") == "pending":
            return f"waiting for stage {stage['name']} to start"
    return "no stage running"


def wait_final(api: Api, job_id: str, deadline: float) -> dict[str, Any]:
    """Poll the job until it is completed, failed or cancelled; a timeout names the stage it was in."""
    while True:
        job = api.job(job_id)
        if job.get("status") in TERMINAL:
            return job
        if time.monotonic() >= deadline:
            raise SmokeFailed(f"job {job_id} did not finish in time: still {job.get('status')}, {where(job)}", 2)
        time.sleep(POLL_INTERVAL_S)


def check(job: dict[str, Any]) -> str:
    """The completed job's trace id; a failed or cancelled job, or a missing trace id, fails with the reason."""
    job_id = job["job_id"]
    if job["status"] == "failed":
        failure = job.get("failure") or {}
        raise SmokeFailed(
            f"job {job_id} failed in stage {failure.get('stage')} ({failure.get('category')}): {failure.get('reason')}"
        )
    if job["status"] != "completed":
        raise SmokeFailed(f"job {job_id} ended {job['status']}, not completed")
    if not job.get("renditions"):
        raise SmokeFailed(f"job {job_id} completed without any rendition")
    trace_id = job.get("trace_id") or ""
    if not TRACE_ID.match(trace_id) or trace_id == "0" * 32:
        raise SmokeFailed(f"job {job_id} completed but reports no valid trace id (trace_id={trace_id!r})")
    return str(trace_id)


def run() -> None:
    api = Api(
        setting("REELSCOPE_API_URL"),
        seconds("REELSCOPE_SMOKE_HTTP_TIMEOUT_S", 30),
        setting("REELSCOPE_API_KEY", what="an API key with the submit and read scopes"),
    )
    timeout_s = seconds("REELSCOPE_SMOKE_TIMEOUT_S", 300)
    started = time.monotonic()
    deadline = started + timeout_s
    workdir = Path(setting("REELSCOPE_SMOKE_WORKDIR", tempfile.gettempdir()))
    given = setting("REELSCOPE_SMOKE_CLIP", "")
    if given and not Path(given).is_file():
        raise SmokeFailed(f"REELSCOPE_SMOKE_CLIP={given!r} is not a file", 3)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        clip = Path(given) if given else make_clip(Path(scratch) / "reelscope-smoke-test.mp4")
        say(f"{'using' if given else 'made'} {clip.name} ({clip.stat().st_size} bytes); waiting for {api.base_url}")
        api.wait_ready(deadline)
        accepted = api.submit(clip)
    job_id = accepted["job_id"]
    say(f"submitted job {job_id} (trace id {accepted.get('trace_id')})")
    job = wait_final(api, job_id, deadline)
    trace_id = check(job)
    say(f"job {job_id} completed in {time.monotonic() - started:.1f} s with {len(job['renditions'])} rendition(s)")
    say(f"trace id {trace_id}")
    links = job.get("grafana") or {}
    if links.get("trace"):
        say(f"trace in Grafana: {links['trace']}")


def main() -> int:
    try:
        run()
    except SmokeFailed as failure:
        print(f"smoke-test: FAILED: {failure}", file=sys.stderr, flush=True)
        return failure.status
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        print(f"smoke-test: FAILED: lost the ingest API mid-test: {reason}", file=sys.stderr, flush=True)
        return 1
    say("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
