"""The chart's `helm test` script (helm/reelscope/files/smoke-test/smoke_test.py) run for real against the local
stack, as the test Pod runs it against the ingest Service: a generated clip goes through the whole pipeline and the
script reports the job and its trace id; pointed at nothing, it fails in bounded time with a readable message."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from reelscope_cli.client import ApiClient
from reelscope_cli.samples import make_garbled_clip, make_test_clip
from reelscope_cli.stack.settings import StackSettings

from .conftest import helm_binary

CHART = Path(__file__).resolve().parents[2] / "helm" / "reelscope"
SCRIPT = CHART / "files" / "smoke-test" / "smoke_test.py"


def render_test_hook(*overrides: str) -> dict[str, dict[str, object]]:
    """The chart's `helm test` hooks (objects annotated helm.sh/hook: test), rendered by Helm, by kind."""
    helm = helm_binary()
    if not os.access(helm, os.X_OK):
        pytest.fail(f"Helm is not built ({helm} is missing): run `make setup` or `bash scripts/build-go-tools.sh`")
    sets = [arg for value in overrides for arg in ("--set", value)]
    result = subprocess.run(
        [str(helm), "template", "rs", str(CHART), "--kube-version", "1.34.0", *sets],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    hooks = [
        doc
        for doc in yaml.safe_load_all(result.stdout)
        if doc and (doc["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"
    ]
    return {doc["kind"]: doc for doc in hooks}


UNUSED_KEY = "rsk_000000000000_" + "0" * 43
"""A well-formed key for runs that never reach an API."""


def run_script(
    api_url: str, tmp_path: Path, timeout_s: float, api_key: str = UNUSED_KEY, **extra: str
) -> subprocess.CompletedProcess[str]:
    """The script as the Pod runs it: the same interpreter, settings only from the environment."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "REELSCOPE_API_URL": api_url,
        "REELSCOPE_API_KEY": api_key,
        "REELSCOPE_SMOKE_TIMEOUT_S": str(timeout_s),
        "REELSCOPE_SMOKE_WORKDIR": str(tmp_path),
        **extra,
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
        check=False,
    )


def stack_key(stack: StackSettings) -> str:
    """The stack's own API key, given to the script as the Pod gets the chart's smoke-test key."""
    return stack.api_key_file.read_text().strip()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.e2e
def test_smoke_script_passes_on_the_running_stack(local_stack: StackSettings, tmp_path: Path) -> None:
    """Against the real pipeline the script exits 0 and prints the completed job's id and its 32-hex trace id."""
    result = run_script(local_stack.ingest_url, tmp_path, timeout_s=240, api_key=stack_key(local_stack))
    assert result.returncode == 0, result.stdout + result.stderr
    job_ids = re.findall(r"submitted job ([0-9a-f]{32})", result.stdout)
    assert len(job_ids) == 1, result.stdout
    assert f"job {job_ids[0]} completed" in result.stdout
    assert re.search(r"^smoke-test: trace id [0-9a-f]{32}$", result.stdout, re.MULTILINE), result.stdout
    assert list(tmp_path.iterdir()) == [], "the generated clip is left behind"


@pytest.mark.e2e
def test_smoke_script_reports_a_failed_job_with_its_reason(local_stack: StackSettings, tmp_path: Path) -> None:
    """When the job fails (a corrupt upload), the script exits 1 and prints the stage and reason the API reports."""
    corrupt = make_garbled_clip(tmp_path / "broken.mp4", make_test_clip(tmp_path / "good.mp4"))
    result = run_script(
        local_stack.ingest_url,
        tmp_path,
        timeout_s=120,
        REELSCOPE_SMOKE_CLIP=str(corrupt),
        api_key=stack_key(local_stack),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    job_id = re.findall(r"submitted job ([0-9a-f]{32})", result.stdout)[0]
    with ApiClient.for_stack(local_stack) as api:
        failure = api.job(job_id)["failure"]
    assert failure, f"job {job_id} did not fail"
    expected = f"FAILED: job {job_id} failed in stage {failure['stage']} ({failure['category']}): {failure['reason']}"
    assert expected in result.stderr


@pytest.mark.e2e
def test_smoke_script_timeout_names_the_stage(local_stack: StackSettings, tmp_path: Path) -> None:
    """With a timeout shorter than the job, the script exits 2 saying which stage the job was in."""
    # The generated 2 s clip can go through the whole pipeline within a second: submit a longer one.
    clip = make_test_clip(tmp_path / "long.mp4", size="1280x720", duration_s=30)
    result = run_script(
        local_stack.ingest_url,
        tmp_path,
        timeout_s=1,
        REELSCOPE_SMOKE_CLIP=str(clip),
        api_key=stack_key(local_stack),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    pattern = (
        r"FAILED: job [0-9a-f]{32} did not finish in time: still (queued|processing), "
        r"(stage \w+ running, \d+% done|waiting for stage \w+ to start)"
    )
    assert re.search(pattern, result.stderr), result.stderr


@pytest.mark.unit
def test_smoke_script_fails_readably_when_nothing_listens(tmp_path: Path) -> None:
    """With no API at the URL it exits non-zero within its timeout and says the API was not reachable."""
    url = f"http://127.0.0.1:{unused_port()}"
    started = time.monotonic()
    result = run_script(url, tmp_path, timeout_s=3)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert elapsed < 30, f"took {elapsed:.0f} s with a 3 s timeout"
    assert f"FAILED: the ingest API at {url} is not ready" in result.stderr
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.unit
def test_smoke_script_refuses_a_missing_url(tmp_path: Path) -> None:
    """Without REELSCOPE_API_URL it exits 3 naming the variable, before doing anything else."""
    result = run_script("", tmp_path, timeout_s=3)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "REELSCOPE_API_URL is not set" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_smoke_script_without_a_valid_key_fails_with_the_apis_401(local_stack: StackSettings, tmp_path: Path) -> None:
    """No REELSCOPE_API_KEY: exit 3 naming it; a key the API does not know: exit 1 with the API's 401 problem."""
    missing = run_script(local_stack.ingest_url, tmp_path, timeout_s=30, api_key="")
    assert missing.returncode == 3, missing.stdout + missing.stderr
    assert "REELSCOPE_API_KEY is not set" in missing.stderr
    unknown = run_script(local_stack.ingest_url, tmp_path, timeout_s=60)
    assert unknown.returncode == 1, unknown.stdout + unknown.stderr
    assert "POST /v1/jobs was refused (401)" in unknown.stderr
    assert "unauthenticated" in unknown.stderr


@pytest.mark.unit
def test_test_hook_runs_this_script_against_the_ingest_service() -> None:
    """The rendered hook mounts this very file (byte for byte), runs it from the mount in the transcode image and
    points it at the ingest Service's name and port, with the values' timeout."""
    objects = render_test_hook("components.ingest.port=8181", "tests.timeoutSeconds=120")
    config_map, pod = objects["ConfigMap"], objects["Pod"]
    assert config_map["data"] == {"smoke_test.py": SCRIPT.read_text()}
    spec: dict[str, Any] = pod["spec"]  # type: ignore[assignment]
    container = spec["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "script")
    volume = next(v for v in spec["volumes"] if v["name"] == "script")
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]  # type: ignore[index]
    assert container["command"] == ["python", f"{mount['mountPath']}/smoke_test.py"]
    assert container["image"].rsplit(":", 1)[0].endswith("/transcode")
    env = {e["name"]: e.get("value") or e.get("valueFrom") for e in container["env"]}
    assert env["REELSCOPE_API_URL"] == "http://rs-reelscope-ingest:8181"
    assert env["REELSCOPE_SMOKE_TIMEOUT_S"] == "120"
    # The chart's generated smoke-test key, which ingest declares (test_cluster_wiring checks the pairing).
    assert env["REELSCOPE_API_KEY"] == {"secretKeyRef": {"name": "rs-reelscope-api-keys", "key": "smoke-test-key"}}
    assert spec["restartPolicy"] == "Never"
    for obj in (config_map, pod):
        annotations: dict[str, str] = obj["metadata"]["annotations"]  # type: ignore[index]
        assert annotations["helm.sh/hook"] == "test"
        # Kept after a run so its logs can be read; replaced by the next run.
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"


@pytest.mark.unit
def test_no_test_hook_without_the_api() -> None:
    """With ingest disabled there is nothing to submit to, so no test objects are rendered."""
    assert render_test_hook("components.ingest.enabled=false") == {}
