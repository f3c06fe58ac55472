"""Telemetry overhead on the ingest API: what tracing, metrics and logs cost a request, ours against the
OpenTelemetry zero-code agent, both against telemetry switched off.

Three configurations of the same ingest process (`python -m reelscope_ingest`), one at a time:

- `off`: `OTEL_SDK_DISABLED=true` (every signal a no-op, logs to stdout only);
- `agent`: the same process under `opentelemetry-instrument` with its defaults (OTLP over HTTP to the stack's
  collector; every instrumentation `opentelemetry-bootstrap` picks for ingest's dependencies, pinned in this
  package), ours stepping aside (`REELSCOPE_TELEMETRY_PROVIDERS=global`);
- `reelscope`: our telemetry as deployed (OTLP over HTTP to the same collector).

Agent and Reelscope export at the SDK's default cadence, as deployed (not the local stack's 0.5 s).

wrk (one thread, 8 connections) loads `GET /v1/jobs/{id}` and `POST /v1/jobs` uploading a 1 s 64x64 clip (the
content check runs ffprobe on it). The three processes are up together, idle but for the one under load: after a
short warm-up each gets `rounds` windows per endpoint (3 s of GET, 6 s of POST), interleaved in rotating order, so the
load other work puts on the machine falls on all three alike; medians over the windows are reported. The
processes have their own databases, storage, key (limits raised so they never throttle) and RabbitMQ vhost,
whose transcode queue no worker reads: the jobs submitted (counted in the figures) are never transcoded, and
are deleted with it. About 3.5 minutes with the defaults.
"""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from reelscope_cli.samples import make_test_clip
from reelscope_cli.stack.components import api_key_pepper_file, new_api_key, service_env
from reelscope_cli.stack.settings import StackSettings

from reelscope_bench.report import Section, Target, at_least
from reelscope_bench.vhost import private_vhost
from reelscope_bench.wrk import WrkResult, run_wrk

CONFIGURATIONS = ("off", "agent", "reelscope")
ENDPOINTS = ("get_job", "submit")
VHOST = "reelscope-bench-api"
UNLIMITED = "1000000"
# The SDK defaults, which docker compose and the Helm chart keep: the local stack exports every 0.5 s so tests
# and the demo see their traces at once, a cadence that costs throughput (measured: ~0.85 of off instead of ~0.95
# for GET) and that no deployment runs. Agent and Reelscope get the same.
DEPLOYED_EXPORT_CADENCE = {
    "OTEL_BSP_SCHEDULE_DELAY": "5000",
    "OTEL_BLRP_SCHEDULE_DELAY": "1000",
    "OTEL_METRIC_EXPORT_INTERVAL": "60000",
}
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Load:
    """How hard and how long wrk pushes each run."""

    get_window_s: float = 3.0
    """One measurement window of GET (~100 requests/s here: 3 s is plenty)."""
    submit_window_s: float = 6.0
    """One of POST: each upload is probed by ffprobe (~10 requests/s here), so longer for a steadier median."""
    warmup_s: float = 2.0
    rounds: int = 6
    """Windows per configuration and endpoint."""
    pause_s: float = 0.5
    threads: int = 1
    connections: int = 8


@dataclass(frozen=True)
class Workspace:
    """What every ingest process of the benchmark shares: its directory, key, clip and vhost."""

    root: Path
    api_key: str
    clip: Path
    amqp_url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _declared_keys(root: Path, api_key: str) -> Path:
    path = root / "api-keys.json"
    path.touch(mode=0o600)
    path.write_text(f'[{{"name": "bench-api", "tenant": "bench", "scopes": ["submit", "read"], "key": "{api_key}"}}]')
    return path


def _env(settings: StackSettings, space: Workspace, configuration: str, port: int) -> dict[str, str]:
    """What the local stack gives ingest, with this configuration's switches and its own state."""
    state = space.root / configuration
    state.mkdir(exist_ok=True)
    env = (
        service_env(settings, "ingest")
        | {
            "REELSCOPE_AMQP_URL": space.amqp_url,
            "REELSCOPE_STORAGE_DIR": str(state / "storage"),
            "REELSCOPE_SCRATCH_DIR": str(state / "scratch"),
            "REELSCOPE_DATABASE_URL": f"sqlite+aiosqlite:///{state / 'ingest.db'}",
            "REELSCOPE_API_KEY_PEPPER_FILE": str(api_key_pepper_file(settings)),
            "REELSCOPE_API_KEYS_FILE": str(space.root / "api-keys.json"),
            "REELSCOPE_PORT": str(port),
            "REELSCOPE_SUBMISSIONS_PER_MINUTE": UNLIMITED,
            "REELSCOPE_MAX_CONCURRENT_JOBS": UNLIMITED,
            "REELSCOPE_STORAGE_QUOTA_BYTES": str(1024**4),
        }
        | DEPLOYED_EXPORT_CADENCE
    )
    if configuration == "off":
        env["OTEL_SDK_DISABLED"] = "true"
    elif configuration == "agent":
        env["REELSCOPE_TELEMETRY_PROVIDERS"] = "global"
    return env


def _command(configuration: str) -> list[str]:
    ingest = [sys.executable, "-m", "reelscope_ingest"]
    if configuration == "agent":
        return [str(Path(sys.executable).parent / "opentelemetry-instrument"), *ingest]
    return ingest


@contextmanager
def _ingest(settings: StackSettings, space: Workspace, configuration: str) -> Iterator[str]:
    """One ingest process in `configuration`, ready; yields its URL, then stops it (SIGTERM, then SIGKILL)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = space.root / f"ingest-{configuration}.log"
    env = os.environ | _env(settings, space, configuration, port)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            _command(configuration), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ingest ({configuration}) did not start; see {log_path}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


def _submit_one(url: str, space: Workspace) -> str:
    """A job to read back (GET needs one that exists)."""
    headers = {"Authorization": f"Bearer {space.api_key}"}
    files = {"file": ("clip.mp4", space.clip.read_bytes(), "video/mp4")}
    answer = httpx.post(f"{url}/v1/jobs", headers=headers, files=files, timeout=30)
    answer.raise_for_status()
    job_id: str = answer.json()["job_id"]
    return job_id


def _warm_up(space: Workspace, targets: dict[str, tuple[str, Path | None]], load: Load) -> int:
    """A short light load on each endpoint (imports, caches, connection pools); returns the jobs it made."""
    jobs = 0
    for target, clip in targets.values():
        warm = run_wrk(target, api_key=space.api_key, clip=clip, duration_s=load.warmup_s, connections=2)
        jobs += warm.ok_requests if clip else 0
    return jobs


def _measure(space: Workspace, urls: dict[str, str], load: Load) -> tuple[list[dict[str, Any]], int]:
    """Every endpoint, `load.rounds` windows per configuration, interleaved (see `_schedule`); returns one
    entry per window and the number of jobs made."""
    jobs = 0
    targets: dict[str, dict[str, tuple[str, Path | None]]] = {}
    for configuration, url in urls.items():
        job_id = _submit_one(url, space)
        targets[configuration] = {
            "get_job": (f"{url}/v1/jobs/{job_id}", None),
            "submit": (f"{url}/v1/jobs", space.clip),
        }
        jobs += 1 + _warm_up(space, targets[configuration], load)
    windows: list[dict[str, Any]] = []
    for endpoint in ENDPOINTS:
        for index, configuration in enumerate(_schedule(load.rounds)):
            target, clip = targets[configuration][endpoint]
            result = run_wrk(
                target,
                api_key=space.api_key,
                clip=clip,
                duration_s=load.submit_window_s if clip else load.get_window_s,
                threads=load.threads,
                connections=load.connections,
            )
            jobs += result.ok_requests if clip else 0
            where = {"endpoint": endpoint, "configuration": configuration, "window": index}
            windows.append(where | _run_figures(result))
            time.sleep(load.pause_s)  # the batch exporters send the window's last spans before the next one
    return windows, jobs


def _run_figures(result: WrkResult) -> dict[str, float | int]:
    ok_share = result.ok_requests / result.requests if result.requests else 0.0
    return {
        "requests_per_s": result.requests_per_s * ok_share,  # answers that were errors are not throughput
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "requests": result.requests,
        "errors": result.non_2xx + result.socket_errors,
    }


def summarise(windows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Target]]:
    """Median figures per endpoint and configuration, the throughput ratios and their targets."""
    figures: dict[str, Any] = {}
    targets: list[Target] = []
    for endpoint in ENDPOINTS:
        per_configuration: dict[str, Any] = {}
        for configuration in CONFIGURATIONS:
            measured = [w for w in windows if w["endpoint"] == endpoint and w["configuration"] == configuration]
            per_configuration[configuration] = {
                name: statistics.median(m[name] for m in measured) for name in ("requests_per_s", "p50_ms", "p99_ms")
            } | {"errors": sum(m["errors"] for m in measured)}
        ours = per_configuration["reelscope"]["requests_per_s"]
        vs_off = ours / per_configuration["off"]["requests_per_s"]
        vs_agent = ours / per_configuration["agent"]["requests_per_s"]
        figures[endpoint] = per_configuration | {"throughput_vs_off": vs_off, "throughput_vs_agent": vs_agent}
        targets += [
            at_least(f"{endpoint}.throughput_vs_off", vs_off, 0.90),
            at_least(f"{endpoint}.throughput_vs_agent", vs_agent, 1.0),
        ]
    return figures, targets


def _schedule(rounds: int) -> list[str]:
    """Each round runs every configuration once, the order rotating from round to round: each is first, middle
    and last as often, and slow drift (other work on the machine) falls on all of them alike."""
    order: list[str] = []
    for index in range(rounds):
        shift = index % len(CONFIGURATIONS)
        order += [*CONFIGURATIONS[shift:], *CONFIGURATIONS[:shift]]
    return order


def run(settings: StackSettings, load: Load | None = None) -> Section:
    """Measure the three configurations on the running stack's broker and collector (see the module doc)."""
    load = load or Load()
    root = settings.run_dir / "bench-api"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    api_key = new_api_key()
    _declared_keys(root, api_key)
    clip = make_test_clip(root / "clip.mp4", size="64x64", duration_s=1.0, rate=10, audio=False)
    clip_bytes = clip.stat().st_size
    with private_vhost(settings, VHOST) as amqp_url, ExitStack() as processes:
        space = Workspace(root=root, api_key=api_key, clip=clip, amqp_url=amqp_url)
        urls = {c: processes.enter_context(_ingest(settings, space, c)) for c in CONFIGURATIONS}
        windows, jobs = _measure(space, urls, load)
    shutil.rmtree(root)  # kept when something failed: the processes' logs are there
    figures, targets = summarise(windows)
    figures |= {
        "jobs_created": jobs,
        "load": {
            "tool": "wrk",
            "threads": load.threads,
            "connections": load.connections,
            "window_s": {"get_job": load.get_window_s, "submit": load.submit_window_s},
            "windows_per_configuration": load.rounds,
            "clip_bytes": clip_bytes,
        },
        "windows": windows,
    }
    return Section(name="api", title="Ingest API telemetry overhead", figures=figures, targets=targets)
