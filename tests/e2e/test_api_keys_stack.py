"""API keys on the local stack: the stack's ingest refuses a `/v1` call that carries no key (401 problem+json with
a `WWW-Authenticate: Bearer` challenge, as RFC 6750 says), and accepts a job submitted with the key
`reelscope-stack up` made for it (the key file the CLI and every other e2e test read)."""

from pathlib import Path

import httpx
import pytest
from reelscope_cli.samples import make_short_clip
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.e2e


def _submit(settings: StackSettings, clip: Path, headers: dict[str, str]) -> httpx.Response:
    with clip.open("rb") as handle:
        return httpx.post(
            f"{settings.ingest_url}/v1/jobs", files={"file": (clip.name, handle)}, headers=headers, timeout=30
        )


def test_a_submission_without_a_key_is_refused_with_a_bearer_challenge(
    local_stack: StackSettings, tmp_path: Path
) -> None:
    """POST /v1/jobs without Authorization: 401, `WWW-Authenticate: Bearer …`, an RFC 9457 problem body; the
    health endpoints stay open."""
    response = _submit(local_stack, make_short_clip(tmp_path / "clip.mp4"), {})
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers
    assert response.json()["status"] == 401
    assert httpx.get(f"{local_stack.ingest_url}/healthz", timeout=10).status_code == 200


def test_the_stacks_own_key_submits_a_job(local_stack: StackSettings, tmp_path: Path) -> None:
    """The key in the stack's key file (mode 0600) is in ingest's form and is accepted: 202 with a job id."""
    key_file = local_stack.api_key_file
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert key.startswith("rsk_")
    response = _submit(local_stack, make_short_clip(tmp_path / "clip.mp4"), {"Authorization": f"Bearer {key}"})
    assert response.status_code == 202, response.text
    assert response.json()["job_id"]
