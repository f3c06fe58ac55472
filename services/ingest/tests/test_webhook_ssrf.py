"""POST /v1/jobs refuses a webhook_url that could turn our webhooks against internal systems: any host that
resolves to a non-public address (or does not resolve) is a 422 naming the address and its kind, never a 500,
and no job is created; REELSCOPE_WEBHOOK_ALLOWED_NETWORKS admits what it lists."""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from reelscope_contracts import JobSubmitted, RoutingKey
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.main import create_app
from reelscope_messaging import Broker
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import authorize, count_jobs

pytestmark = pytest.mark.integration

REFUSED = [
    ("http://127.0.0.1/hook", "webhook_url resolves to 127.0.0.1, a loopback address"),
    ("http://[::1]/hook", "webhook_url resolves to ::1, a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address (the cloud metadata service)"),
    ("http://10.0.0.1/hook", "10.0.0.1, a private address"),
    ("http://172.16.0.1/hook", "172.16.0.1, a private address"),
    ("http://192.168.1.1/hook", "192.168.1.1, a private address"),
    ("http://0.0.0.0/hook", "0.0.0.0, an unspecified address"),
    ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1, an IPv4-mapped loopback address"),
    ("http://localhost:8080/hook", "a loopback address"),
]


@pytest.fixture
def make_client(
    tmp_path: Path, database_url: str, rabbitmq_url: str, telemetry: CapturedTelemetry, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str | None], "AppClient"]:
    """The real ingest app on the test RabbitMQ, optionally with an allowlist (REELSCOPE_WEBHOOK_ALLOWED_NETWORKS)."""

    def factory(allowed: str | None = None) -> AppClient:
        if allowed is None:
            monkeypatch.delenv("REELSCOPE_WEBHOOK_ALLOWED_NETWORKS", raising=False)
        else:
            monkeypatch.setenv("REELSCOPE_WEBHOOK_ALLOWED_NETWORKS", allowed)
        settings = IngestSettings(
            amqp_url=rabbitmq_url,
            database_url=database_url,
            storage_dir=tmp_path / "storage",
            scratch_dir=tmp_path / "scratch",
        )
        return AppClient(settings, telemetry)

    return factory


class AppClient:
    """`async with AppClient(...) as http`: the app with its lifespan running, once RabbitMQ is connected."""

    def __init__(self, settings: IngestSettings, telemetry: CapturedTelemetry) -> None:
        self.settings = settings
        self.app = create_app(settings, telemetry.telemetry)
        self._lifespan = self.app.router.lifespan_context(self.app)
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://ingest.test")

    async def __aenter__(self) -> httpx.AsyncClient:
        await self._lifespan.__aenter__()
        await authorize(self._http, self.app)
        for _ in range(200):
            if (await self._http.get("/readyz")).status_code == 200:
                return self._http
            await asyncio.sleep(0.05)
        raise AssertionError("ingest never became ready")

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()
        await self._lifespan.__aexit__(None, None, None)


async def _submit(http: httpx.AsyncClient, webhook_url: str, media: bytes) -> httpx.Response:
    return await http.post(
        "/v1/jobs", files={"file": ("clip.mp4", media, "video/mp4")}, data={"webhook_url": webhook_url}
    )


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_a_webhook_to_a_non_public_address_is_refused_with_422(
    media: bytes, url: str, reason: str, make_client: Callable[[str | None], AppClient], database_url: str
) -> None:
    """Without an allowlist the submission gets 422 with the precise reason, and no job is recorded."""
    async with make_client(None) as http:
        response = await _submit(http, url, media)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_webhook_url"
    detail = response.json()["detail"]
    assert reason in detail
    assert detail.endswith("; only public addresses are allowed")
    assert await count_jobs(database_url) == 0


async def test_a_webhook_host_that_does_not_resolve_is_refused_with_422(
    media: bytes,
    make_client: Callable[[str | None], AppClient],
) -> None:
    """A name with no address (the reserved .invalid TLD) is a 422 naming the host, not a 500."""
    async with make_client(None) as http:
        response = await _submit(http, "https://hooks.nowhere.invalid/hook", media)
    assert response.status_code == 422, response.text
    assert "webhook_url host hooks.nowhere.invalid does not resolve" in response.json()["detail"]


async def test_a_public_address_is_accepted(
    media: bytes, make_client: Callable[[str | None], AppClient], broker: Broker
) -> None:
    """A public IP literal passes (validation needs no network for a literal; nothing connects to it) and the
    job is queued with it."""
    async with private_queue(broker, "test.ssrf", (RoutingKey.SUBMITTED,)) as queue, make_client(None) as http:
        response = await _submit(http, "https://93.184.215.14/hook", media)
        assert response.status_code == 202, response.text
        (submitted,) = await collect_events(queue, response.json()["job_id"], until=(JobSubmitted,))
    assert isinstance(submitted, JobSubmitted)
    assert submitted.webhook_url == "https://93.184.215.14/hook"


async def test_the_allowlist_admits_loopback(
    media: bytes, make_client: Callable[[str | None], AppClient], broker: Broker
) -> None:
    """With REELSCOPE_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"] (the local stack's), 127.0.0.1 is accepted,
    while 10.0.0.1 is still refused."""
    async with (
        private_queue(broker, "test.ssrf", (RoutingKey.SUBMITTED,)),
        make_client(json.dumps(["127.0.0.0/8"])) as http,
    ):
        accepted = await _submit(http, "http://127.0.0.1:9/hook", media)
        refused = await _submit(http, "http://10.0.0.1/hook", media)
    assert accepted.status_code == 202, accepted.text
    assert refused.status_code == 422
