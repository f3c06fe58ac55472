"""What POST /v1/jobs refuses before a job exists: a key's rate, concurrency and storage limits (checked before
the body is read), uploads that are not media by their content, and `source_url`s that point inward (the SSRF
matrix through the API, a redirect to loopback included) or fail; what it accepts from a `source_url`."""

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractQueue
from reelscope_cli.samples import make_image, make_text_file
from reelscope_contracts import JobFailed, JobOwner, JobSubmitted, RoutingKey, StageName
from reelscope_ingest.api.deps import AppState
from reelscope_ingest.core.config import IngestSettings
from reelscope_messaging import Broker
from reelscope_messaging.testing import private_queue
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import authorize, count_jobs, running_app

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(ingest_settings: IngestSettings) -> IngestSettings:
    """Downloads allowed from 127.0.0.2 only (the test origin), bounded at 10 s."""
    allowed = IngestSettings.model_validate({"source_allowed_networks": ["127.0.0.2/32"]}).source_allowed_networks
    return ingest_settings.model_copy(update={"source_allowed_networks": allowed, "source_download_timeout_s": 10})


@pytest.fixture(autouse=True)
async def submitted_queue(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private queue bound to `job.submitted`, so accepted jobs' publishes are routed (as transcode's would be)."""
    async with private_queue(broker, "test.limits", (RoutingKey.SUBMITTED,)) as queue:
        yield queue


async def _upload(http: httpx.AsyncClient, body: bytes, name: str = "clip.mp4") -> httpx.Response:
    return await http.post("/v1/jobs", files={"file": (name, body, "video/mp4")})


async def test_the_rate_limit_answers_429_with_retry_after(
    settings: IngestSettings, telemetry: CapturedTelemetry, media: bytes
) -> None:
    """A key allowed 2 submissions a minute gets two 202s, then 429 `rate_limited` with a Retry-After within the
    minute; another key is not affected."""
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app, submissions_per_minute=2)
        assert [(await _upload(http, media)).status_code for _ in range(2)] == [202, 202]
        refused = await _upload(http, media)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        await authorize(http, app)
        assert (await _upload(http, media)).status_code == 202


async def test_too_many_unfinished_jobs_answers_429(
    settings: IngestSettings, telemetry: CapturedTelemetry, media: bytes
) -> None:
    """With max_concurrent_jobs=1 and one job of the key still queued, the next submission is refused; once that
    job has ended, a submission is accepted again."""
    async with running_app(settings, telemetry) as (app, http):
        key_id = await authorize(http, app, max_concurrent_jobs=1)
        state: AppState = app.state.reelscope
        # Recorded, not published: no worker of a stack sharing the test broker can end it behind our back.
        owner = JobOwner(tenant="default", key_id=key_id)
        unfinished = JobSubmitted(
            job_id="unfinished", input_key="jobs/unfinished/input/a.mp4", original_filename="a.mp4",
            input_size_bytes=1, owner=owner,
        )  # fmt: skip
        await state.store.create(unfinished, trace_id=None)
        refused = await _upload(http, media)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "too_many_jobs"
        assert refused.headers["retry-after"] == "30"
        await state.store.apply(JobFailed(job_id="unfinished", stage=StageName.TRANSCODE, reason="test"))
        assert (await _upload(http, media)).status_code == 202


async def test_the_storage_quota_bounds_the_upload_and_then_refuses(
    settings: IngestSettings, telemetry: CapturedTelemetry, media: bytes, database_url: str
) -> None:
    """Quota = one clip and a half: the first fits; the second is cut off mid-stream once it would pass the quota
    (413 `storage_quota_exceeded`); after a third clip's worth is stored (another key of nothing else), a full
    quota refuses before reading the body."""
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app, storage_quota_bytes=len(media) * 3 // 2)
        assert (await _upload(http, media)).status_code == 202
        over = await _upload(http, media)
        assert over.status_code == 413, over.text
        assert over.json()["code"] == "storage_quota_exceeded"
        assert "would pass this API key's storage quota" in over.json()["detail"]

        await authorize(http, app, storage_quota_bytes=len(media))
        assert (await _upload(http, media)).status_code == 202
        full = await _upload(http, b"x")
        assert full.status_code == 413
        assert "its storage quota is" in full.json()["detail"]
    assert await count_jobs(database_url) == 2
    assert list((settings.scratch_dir).iterdir()) == []  # nothing half-uploaded left behind


async def test_uploads_that_are_not_media_get_415_naming_what_they_are(
    settings: IngestSettings, telemetry: CapturedTelemetry, tmp_path: Path, database_url: str
) -> None:
    """A PNG and a text file named .mp4, and random bytes, are refused by content (not name or Content-Type) with
    415 `unsupported_media`; no job, no file left in scratch or storage."""
    image = make_image(tmp_path / "still.png").read_bytes()
    text = make_text_file(tmp_path / "notes.txt").read_bytes()
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app)
        for body, said in ((image, "PNG"), (text, "text"), (bytes(range(256)) * 8, "not a recognised")):
            refused = await _upload(http, body)
            assert refused.status_code == 415, refused.text
            assert refused.json()["code"] == "unsupported_media"
            assert said in refused.json()["detail"], refused.json()["detail"]
    assert await count_jobs(database_url) == 0
    assert list(settings.scratch_dir.iterdir()) == []
    assert not settings.storage_dir.exists() or not any(settings.storage_dir.rglob("*.mp4"))


@dataclass
class Origin:
    """A real HTTP server on one loopback address: `/clip.mp4` serves `body`, `/to?<url>` redirects, anything
    else is 404; `requests` records every path asked for."""

    host: str
    body: bytes
    port: int = 0
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@pytest.fixture
def origins(media: bytes) -> Iterator[dict[str, Origin]]:
    """The allowlisted origin (127.0.0.2) and an internal one (127.0.0.1), both serving the clip."""
    made: dict[str, Origin] = {}
    servers: list[ThreadingHTTPServer] = []
    for name, host in (("allowed", "127.0.0.2"), ("internal", "127.0.0.1")):
        origin = Origin(host, media)

        class Handler(BaseHTTPRequestHandler):
            served = origin

            def do_GET(self) -> None:
                self.served.requests.append(self.path)
                if self.path.startswith("/to?"):
                    self.send_response(302)
                    self.send_header("Location", self.path[4:])
                    self.end_headers()
                elif self.path == "/clip.mp4":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(self.served.body)))
                    self.end_headers()
                    self.wfile.write(self.served.body)
                else:
                    self.send_response(404)
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer((host, 0), Handler)
        origin.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        made[name] = origin
    yield made
    for server in servers:
        server.shutdown()
        server.server_close()


async def test_a_source_url_is_downloaded_and_becomes_the_job_input(
    settings: IngestSettings, telemetry: CapturedTelemetry, origins: dict[str, Origin], media: bytes
) -> None:
    """`source_url` instead of a file, from an allowlisted origin through one redirect: 202, and the job's
    input is exactly the served bytes."""
    allowed = origins["allowed"]
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app)
        source = allowed.url("/to?" + allowed.url("/clip.mp4"))
        accepted = await http.post("/v1/jobs", data={"source_url": source}, files={"hls": (None, "false")})
        assert accepted.status_code == 202, accepted.text
    stored = list(settings.storage_dir.rglob("input/*"))
    assert [p.read_bytes() for p in stored] == [media]
    assert allowed.requests == ["/to?" + allowed.url("/clip.mp4"), "/clip.mp4"]


SSRF_MATRIX = [
    "http://127.0.0.1:{internal}/clip.mp4",
    "http://[::1]:{internal}/clip.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/clip.mp4",
    "http://172.16.0.1/clip.mp4",
    "http://192.168.0.1/clip.mp4",
    "http://0.0.0.0:{internal}/clip.mp4",
    "http://localhost:{internal}/clip.mp4",
    "{allowed}/to?http://127.0.0.1:{internal}/clip.mp4",
]


@pytest.mark.parametrize("template", SSRF_MATRIX)
async def test_a_source_url_pointing_inward_is_refused_without_connecting(
    template: str,
    settings: IngestSettings,
    telemetry: CapturedTelemetry,
    origins: dict[str, Origin],
    database_url: str,
) -> None:
    """Loopback (v4, v6, by name), link-local metadata, the private ranges, 0.0.0.0, and a redirect from the
    allowlisted origin to loopback: 422 `invalid_source_url` naming the address; the internal server is never
    asked; no job."""
    internal = origins["internal"]
    source = template.format(internal=internal.port, allowed=f"http://127.0.0.2:{origins['allowed'].port}")
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app)
        refused = await http.post("/v1/jobs", data={"source_url": source}, files={"hls": (None, "false")})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_source_url"
    assert "source_url resolves to" in refused.json()["detail"]
    assert internal.requests == []
    assert await count_jobs(database_url) == 0


async def test_source_url_mistakes_are_precise_422s(
    settings: IngestSettings, telemetry: CapturedTelemetry, origins: dict[str, Origin], media: bytes
) -> None:
    """Both a file and a source_url, neither, a relative URL, and an origin answering 404: each a 422 with its
    own code and reason."""
    allowed = origins["allowed"]
    async with running_app(settings, telemetry) as (app, http):
        await authorize(http, app)
        both = await http.post(
            "/v1/jobs", data={"source_url": allowed.url("/clip.mp4")}, files={"file": ("a.mp4", media, "video/mp4")}
        )
        neither = await http.post("/v1/jobs", data={"hls": "true"}, files={"x": (None, "y")})
        relative = await http.post("/v1/jobs", data={"source_url": "/clip.mp4"}, files={"hls": (None, "true")})
        missing = await http.post(
            "/v1/jobs", data={"source_url": allowed.url("/gone.mp4")}, files={"hls": (None, "true")}
        )
    assert (both.status_code, both.json()["code"]) == (422, "invalid_upload")
    assert "not both" in both.json()["detail"]
    assert (neither.status_code, neither.json()["code"]) == (422, "invalid_upload")
    assert (relative.status_code, relative.json()["code"]) == (422, "invalid_source_url")
    assert (missing.status_code, missing.json()["code"]) == (422, "source_download_failed")
    assert "404" in missing.json()["detail"]
