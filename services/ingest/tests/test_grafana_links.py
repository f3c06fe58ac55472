"""With Grafana's URL configured, a job links to its trace in Tempo and its logs in Loki through Grafana
Explore, using the datasource UIDs provisioned from grafana/; without it, no links."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from reelscope_cli.stack.settings import repo_root
from reelscope_ingest.api.grafana import grafana_links
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.main import create_app
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import authorize

pytestmark = pytest.mark.unit

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _pane(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    assert parts.path == "/grafana/explore"
    query = parse_qs(parts.query)
    assert query["schemaVersion"] == ["1"]
    pane: dict[str, object] = json.loads(query["panes"][0])["a"]
    return pane


def test_links_open_the_trace_and_its_logs_on_the_provisioned_datasources() -> None:
    """The trace link queries Tempo for the trace id, the logs link filters Loki on the trace_id metadata, both
    on datasource UIDs that grafana/provisioning/datasources defines."""
    links = grafana_links("https://grafana.example/grafana/", TRACE_ID)
    trace, logs = _pane(links.trace), _pane(links.logs)
    provisioned = yaml.safe_load(
        (repo_root() / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
    )
    uids = {source["uid"]: source["type"] for source in provisioned["datasources"]}
    (trace_query,) = trace["queries"]  # type: ignore[misc]
    (logs_query,) = logs["queries"]  # type: ignore[misc]
    assert uids[str(trace["datasource"])] == "tempo"
    assert uids[str(logs["datasource"])] == "loki"
    assert trace_query["query"] == TRACE_ID
    assert logs_query["expr"] == f'{{service_namespace="reelscope"}} | trace_id="{TRACE_ID}"'


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, telemetry: CapturedTelemetry, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The ingest app (broker unreachable: reads need only the database) with GRAFANA_URL set."""
    monkeypatch.setenv("GRAFANA_URL", "https://grafana.example/grafana")
    settings = IngestSettings(
        amqp_url="amqp://guest:guest@127.0.0.1:9/",
        connect_timeout_s=1,
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        scratch_dir=tmp_path / "scratch",
    )
    app = create_app(settings, telemetry.telemetry)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
            await authorize(http, app)
            yield http


async def test_the_job_view_carries_grafana_links_when_grafana_is_configured(
    client: httpx.AsyncClient, submit: object
) -> None:
    """GET /v1/jobs/{id} returns the trace id and, with GRAFANA_URL set, the two Explore links for it."""
    job_id = await submit("linked")  # type: ignore[operator]
    job = (await client.get(f"/v1/jobs/{job_id}")).json()
    assert job["trace_id"] == "0" * 32
    assert job["grafana"] == grafana_links("https://grafana.example/grafana", "0" * 32).model_dump()


def test_without_grafana_url_there_are_no_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GRAFANA_URL: no links (rather than links to nowhere)."""
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    monkeypatch.delenv("REELSCOPE_GRAFANA_URL", raising=False)
    assert IngestSettings().grafana_url is None
