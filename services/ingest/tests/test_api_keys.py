"""API keys: stored only as a keyed hash, checked per route and scope, revocable, made and rotated by the admin
command, declared from a file; jobs are visible only to their tenant (another tenant gets 404, never 403)."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from reelscope_contracts import JobSubmitted, RoutingKey
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.db import make_engine, make_sessionmaker
from reelscope_ingest.core.keys import KeyStore, Scope
from reelscope_ingest.core.schema import Migrations
from reelscope_messaging import Broker
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import TEST_API_KEY_PEPPER, authorize, running_app

MASTER = "master-signing-secret-of-the-key-tests-0123456789"


@pytest.fixture
def settings(ingest_settings: IngestSettings) -> IngestSettings:
    return ingest_settings


async def _submit(http: httpx.AsyncClient, media: bytes, **headers: str) -> httpx.Response:
    return await http.post("/v1/jobs", files={"file": ("clip.mp4", media, "video/mp4")}, headers=headers)


@pytest.mark.unit
async def test_a_key_is_stored_only_as_its_keyed_hash(database_url: str, tmp_path: Path) -> None:
    """The database holds HMAC-SHA256(pepper, key), not the key; the key authenticates, a one-character change or
    another pepper does not."""
    engine = make_engine(database_url)
    await Migrations().upgrade(engine)
    try:
        keys = KeyStore(make_sessionmaker(engine), SecretStr(TEST_API_KEY_PEPPER))
        issued = await keys.create("ci", "acme", [Scope.SUBMIT])
        key = issued.secret.get_secret_value()
        expected = hmac.new(TEST_API_KEY_PEPPER.encode(), key.encode(), hashlib.sha256).hexdigest()
        assert issued.row.key_hash == expected
        assert key.startswith(f"rsk_{issued.row.id}_")
        assert key.split("_", 2)[2].encode() not in (tmp_path / "jobs.db").read_bytes()
        assert (await keys.authenticate(key)) is not None
        altered = key[:-1] + ("A" if key[-1] != "A" else "B")
        assert await keys.authenticate(altered) is None
        assert await keys.authenticate("rsk_short") is None
        other_pepper = KeyStore(make_sessionmaker(engine), SecretStr("another-pepper-" + "x" * 32))
        assert await other_pepper.authenticate(key) is None
        await keys.revoke(issued.row.id)
        assert await keys.authenticate(key) is None
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_every_v1_route_needs_a_valid_key_and_health_does_not(
    settings: IngestSettings, telemetry: CapturedTelemetry
) -> None:
    """No key, a malformed key or an unknown key: 401 problem+json `unauthenticated` with WWW-Authenticate on
    every /v1 operation; /healthz and /readyz answer without one."""
    async with running_app(settings, telemetry) as (_, http):
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer rsk_aaaaaaaaaaaa_" + "b" * 43}):
            for method, path in (("POST", "/v1/jobs"), ("GET", "/v1/jobs/abc"), ("DELETE", "/v1/jobs/abc")):
                response = await http.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["code"] == "unauthenticated"
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200


@pytest.mark.integration
async def test_a_key_without_the_scope_gets_403(
    settings: IngestSettings, telemetry: CapturedTelemetry, media: bytes
) -> None:
    """A read-only key cannot submit or cancel; a submit-only key cannot read: 403 `insufficient_scope`."""
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app, scopes=(Scope.READ,))
        assert (await _submit(http, media)).json()["code"] == "insufficient_scope"
        refused = await http.delete("/v1/jobs/abc")
        assert refused.status_code == 403
        assert 'scope="submit"' in refused.headers["www-authenticate"]
        await authorize(http, app, scopes=(Scope.SUBMIT,))
        read = await http.get("/v1/jobs/abc")
        assert read.status_code == 403
        assert read.json()["code"] == "insufficient_scope"


@pytest.mark.integration
async def test_a_job_is_visible_only_to_its_tenant(
    settings: IngestSettings, telemetry: CapturedTelemetry, media: bytes, broker: Broker
) -> None:
    """Tenant a's job: another key of tenant a reads it; tenant b gets the very 404 a missing job gets, for GET
    and DELETE; the job's messages carry its owner (tenant and key id), so notification knows whom to tell."""
    async with (
        private_queue(broker, "test.tenants", (RoutingKey.SUBMITTED,)) as queue,
        running_app(settings, telemetry) as (app, http),
    ):
        owner_key = await authorize(http, app, tenant="a")
        accepted = await _submit(http, media)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        (submitted,) = await collect_events(queue, job_id, until=(JobSubmitted,))
        assert isinstance(submitted, JobSubmitted)
        assert submitted.owner is not None
        assert (submitted.owner.tenant, submitted.owner.key_id) == ("a", owner_key)

        await authorize(http, app, tenant="a")
        assert (await http.get(f"/v1/jobs/{job_id}")).status_code == 200

        await authorize(http, app, tenant="b")
        theirs, missing = await http.get(f"/v1/jobs/{job_id}"), await http.get("/v1/jobs/nosuchjob")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["code"] == missing.json()["code"] == "job_not_found"
        assert (await http.delete(f"/v1/jobs/{job_id}")).status_code == 404

        await authorize(http, app, tenant="a")
        # b's DELETE changed nothing (a stack sharing the test broker may have run the job meanwhile, never cancel it)
        assert (await http.get(f"/v1/jobs/{job_id}")).json()["status"] != "cancelled"


def _command(database_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    environment = os.environ | {
        "REELSCOPE_DATABASE_URL": database_url,
        "REELSCOPE_WEBHOOK_SIGNING_SECRETS": json.dumps([MASTER]),
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reelscope_ingest.keys", *argv],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


def _derived(key_id: str, generation: int) -> str:
    """The per-key signing secret, computed here independently of reelscope_outbound."""
    label = f"reelscope-webhook-signing/{key_id}/{generation}".encode()
    return "whsec_" + hmac.new(MASTER.encode(), label, hashlib.sha256).hexdigest()


@pytest.mark.integration
async def test_the_keys_command_creates_lists_rotates_and_revokes(database_url: str) -> None:
    """`python -m reelscope_ingest.keys`: create prints the key once (and it works), list never shows a key or
    hash, a signing rotation prints the new secret with both generations valid, finishing it keeps one, and
    revoke makes the key useless."""
    engine = make_engine(database_url)
    await Migrations().upgrade(engine)
    keys = KeyStore(make_sessionmaker(engine), SecretStr(TEST_API_KEY_PEPPER))
    run = _command(database_url)
    try:
        created = run("create", "--name", "ci", "--tenant", "acme", "--scope", "read", "--json")
        assert created.returncode == 0, created.stderr
        made = json.loads(created.stdout)
        key, key_id = made["key"], made["id"]
        row = await keys.authenticate(key)
        assert row is not None
        assert (row.tenant, row.scopes) == ("acme", ["read"])

        listed = run("list")
        assert listed.returncode == 0, listed.stderr
        assert key not in listed.stdout
        assert row.key_hash not in listed.stdout
        assert json.loads(listed.stdout.splitlines()[0])["prefix"] == f"rsk_{key_id}"

        assert run("signing-secret", key_id).stdout.split() == [_derived(key_id, 1)]
        rotated = run("rotate-signing-secret", f"rsk_{key_id}")
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout.strip() == _derived(key_id, 2)
        assert run("signing-secret", key_id).stdout.split() == [_derived(key_id, 2), _derived(key_id, 1)]
        assert run("finish-signing-rotation", key_id).returncode == 0
        assert (await keys.get(key_id)).signing_generations == [2]

        assert run("revoke", key_id).returncode == 0
        assert await keys.authenticate(key) is None
        unknown = run("revoke", "nosuchkey123")
        assert unknown.returncode == 1
        assert "no API key with id nosuchkey123" in unknown.stderr
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_declared_keys_are_made_at_start_up_and_a_bad_file_stops_ingest(
    settings: IngestSettings, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    """REELSCOPE_API_KEYS_FILE's keys work as soon as ingest is up; a file that is not a list of keys refuses to
    start with a line that says so (and does not echo the keys)."""
    key = "rsk_declaredkey1_" + "Z" * 43
    declared = tmp_path / "keys.json"
    declared.write_text(json.dumps([{"name": "smoke", "tenant": "ops", "scopes": ["read"], "key": key}]))
    async with running_app(settings.model_copy(update={"api_keys_file": declared}), telemetry) as (_, http):
        response = await http.get("/v1/jobs/nosuchjob", headers={"Authorization": f"Bearer {key}"})
        assert response.json()["code"] == "job_not_found"  # authenticated, then simply not there

    declared.write_text(json.dumps([{"name": "bad", "key": "rsk_not-a-key-secret-value"}]))
    refusal = r"REELSCOPE_API_KEYS_FILE .* is not a list of keys: .*a key must look like rsk_"
    with pytest.raises(ValueError, match=refusal) as refused:
        async with running_app(settings.model_copy(update={"api_keys_file": declared}), telemetry):
            pass
    assert "not-a-key-secret-value" not in str(refused.value)


@pytest.mark.unit
def test_ingest_refuses_to_start_without_a_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    """No REELSCOPE_API_KEY_PEPPER(_FILE), or one too short: the settings name the variable."""
    monkeypatch.delenv("REELSCOPE_API_KEY_PEPPER")
    with pytest.raises(ValueError, match="no API key pepper: set REELSCOPE_API_KEY_PEPPER"):
        IngestSettings()
    monkeypatch.setenv("REELSCOPE_API_KEY_PEPPER", "short")
    with pytest.raises(ValueError, match="shorter than 32 characters") as refused:
        IngestSettings()
    assert "short'" not in str(refused.value)


@pytest.mark.integration
async def test_an_admin_key_manages_keys_over_http_and_no_other_key_can(
    settings: IngestSettings, telemetry: CapturedTelemetry
) -> None:
    """POST /v1/keys (admin) answers 201 with the key once, and it works; GET lists keys without secrets or
    hashes; DELETE revokes (the key then gets 401; an unknown id 404 `key_not_found`); a submit+read key gets 403."""
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app)
        assert (await http.get("/v1/keys")).json()["code"] == "insufficient_scope"
        await authorize(http, app, scopes=(Scope.ADMIN,))
        made = await http.post("/v1/keys", json={"name": "partner", "tenant": "partner", "scopes": ["read"]})
        assert made.status_code == 201, made.text
        key, key_id = made.json()["key"], made.json()["id"]
        new_key = {"Authorization": f"Bearer {key}"}
        assert (await http.get("/v1/jobs/nosuchjob", headers=new_key)).json()["code"] == "job_not_found"

        listed = await http.get("/v1/keys")
        assert listed.status_code == 200
        assert key_id in [k["id"] for k in listed.json()]
        assert key not in listed.text
        assert "hash" not in listed.text

        revoked = await http.delete(f"/v1/keys/{key_id}")
        assert (revoked.status_code, revoked.json()["revoked"]) == (200, True)
        assert (await http.get("/v1/jobs/nosuchjob", headers=new_key)).status_code == 401
        missing = await http.delete("/v1/keys/abcdefabcdef")
        assert (missing.status_code, missing.json()["code"]) == (404, "key_not_found")
        bad = await http.post("/v1/keys", json={"name": "x", "scopes": ["root"]})
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
