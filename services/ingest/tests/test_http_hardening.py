"""The ingest API's HTTP edge, against the real app (real RabbitMQ and SQLite where a route needs them): every error
is RFC 9457 problem details with a stable code and matches what the OpenAPI document declares; each request has an
id that is echoed, logged and put on the server span; security headers are always sent; CORS is off unless
origins are configured."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode
from reelscope_ingest.api.deps import get_state
from reelscope_ingest.api.problems import CATALOG, PROBLEM_MEDIA_TYPE, TYPE_BASE
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.http_config import HttpSettings
from reelscope_ingest.main import create_app
from reelscope_telemetry.attributes import REQUEST_ID
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import authorize

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code", "request_id"}
BOUNDARY = "reelscope-hardening-boundary"
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")

MakeApp = Callable[..., FastAPI]


@pytest.fixture
def make_app(tmp_path: Path, database_url: str, rabbitmq_url: str, telemetry: CapturedTelemetry) -> MakeApp:
    """The real ingest app on the test RabbitMQ; keyword arguments override settings."""

    def factory(**overrides: Any) -> FastAPI:
        settings = IngestSettings(
            amqp_url=rabbitmq_url,
            database_url=database_url,
            storage_dir=tmp_path / "storage",
            scratch_dir=tmp_path / "scratch",
            **overrides,
        )
        return create_app(settings, telemetry.telemetry)

    return factory


async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test") as http,
    ):
        await authorize(http, app)
        for _ in range(200):
            if (await http.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("ingest never became ready")
        yield http


@pytest.fixture
async def http(make_app: MakeApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the ready app (1 MiB upload limit)."""
    async for client in _serve(make_app(max_upload_bytes=1024 * 1024)):
        yield client


class StreamedUpload:
    """A multipart body sent chunk by chunk with no Content-Length, counting what the server pulled."""

    def __init__(self, chunks: int, chunk: bytes = b"\0" * (256 * 1024)) -> None:
        self.chunks, self.chunk, self.sent = chunks, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for _ in range(self.chunks):
            self.sent += 1
            yield self.chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


def assert_problem(response: httpx.Response, status: int, code: str, path: str) -> dict[str, Any]:
    """The response is problem+json with every member, consistent with the status, path and request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert PROBLEM_FIELDS <= set(body) <= PROBLEM_FIELDS | {"errors"}
    assert body["code"] == code
    assert body["type"] == TYPE_BASE + code
    assert body["status"] == status
    assert body["instance"] == path
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["title"]
    assert body["detail"]
    return body


def assert_declared(app: FastAPI, path: str, method: str, response: httpx.Response) -> None:
    """The OpenAPI document declares this status for the operation, as problem+json, and the body validates."""
    document = app.openapi()
    declared = document["paths"][path][method]["responses"][str(response.status_code)]
    schema = declared["content"][PROBLEM_MEDIA_TYPE]["schema"]
    jsonschema.validate(response.json(), {**schema, "components": document["components"]})


CASES = [
    pytest.param(
        "post",
        "/v1/jobs",
        {"content": b"not a form", "headers": {"Content-Type": "text/plain"}},
        415,
        "unsupported_media_type",
        id="415-not-multipart",
    ),
    pytest.param(
        "post",
        "/v1/jobs",
        {"files": {"file": ("a.mp4", b"\0" * 2048, "video/mp4")}, "data": {"webhook_url": "not a url"}},
        422,
        "invalid_webhook_url",
        id="422-webhook",
    ),
    pytest.param(
        "post",
        "/v1/jobs",
        {"files": {"file": ("a.mp4", b"\0" * 2048, "video/mp4")}, "data": {"hls": "maybe"}},
        422,
        "invalid_form_field",
        id="422-hls-flag",
    ),
    pytest.param(
        "post", "/v1/jobs", {"files": {"video": ("a.mp4", b"\0" * 2048)}}, 422, "invalid_upload", id="422-no-file"
    ),
    pytest.param("get", "/v1/jobs/nosuchjob", {}, 404, "job_not_found", id="404-job"),
    pytest.param("delete", "/v1/jobs/nosuchjob", {}, 404, "job_not_found", id="404-cancel"),
    pytest.param("get", "/v1/jobs/bad%20id", {}, 422, "validation_error", id="422-job-id"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), CASES)
async def test_route_errors_are_declared_problems(
    http: httpx.AsyncClient,
    make_app: MakeApp,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    """Each error family of the routes answers problem+json with its stable code, and the OpenAPI document declares
    exactly that status, media type and code for the operation (the body validates against the declared schema)."""
    response = await http.request(method.upper(), path, **kwargs)
    assert_problem(response, status, code, path.replace("%20", " "))
    template = "/v1/jobs/{job_id}" if path.startswith("/v1/jobs/") else path
    assert_declared(make_app(), template, method, response)


async def test_validation_problem_lists_each_issue_without_echoing_input(http: httpx.AsyncClient) -> None:
    """A job id breaking the path pattern is 422 `validation_error` whose `errors` name the field, not its value."""
    response = await http.get("/v1/jobs/secret%20value")
    body = assert_problem(response, 422, "validation_error", "/v1/jobs/secret value")
    assert body["errors"][0]["loc"] == ["path", "job_id"]
    assert body["errors"][0]["type"] == "string_pattern_mismatch"
    assert "secret" not in str(body["errors"])


async def test_an_oversized_streamed_upload_is_a_413_problem_before_it_is_read(http: httpx.AsyncClient) -> None:
    """A 64 MiB upload without Content-Length against a 1 MiB limit: 413 `upload_too_large`, and the server stopped
    pulling the stream soon after the limit (the middleware does not buffer the body)."""
    body = StreamedUpload(chunks=256)
    response = await http.post(
        "/v1/jobs", content=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    assert_problem(response, 413, "upload_too_large", "/v1/jobs")
    assert body.sent <= 8


async def test_unknown_route_and_wrong_method_are_problems(http: httpx.AsyncClient) -> None:
    """An unknown path is 404 `not_found`; a known path with the wrong method is 405 `method_not_allowed` keeping
    the Allow header."""
    assert_problem(await http.get("/v2/nothing"), 404, "not_found", "/v2/nothing")
    response = await http.put("/v1/jobs/abc")
    body = assert_problem(response, 405, "method_not_allowed", "/v1/jobs/abc")
    assert "GET" in response.headers["Allow"]
    assert "PUT" in body["detail"]


async def test_an_unexpected_exception_is_a_generic_500_problem(
    make_app: MakeApp, telemetry: CapturedTelemetry
) -> None:
    """A dependency that raises turns into 500 `internal_error` without the exception's text, yet with the request id,
    the security headers and one log line that holds the exception for us."""
    app = make_app()

    def broken() -> None:
        raise RuntimeError("database password is hunter2")

    app.dependency_overrides[get_state] = broken
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest.test") as client:
        response = await client.get("/v1/jobs/abc", headers={"X-Request-ID": "boom-1"})
    body = assert_problem(response, 500, "internal_error", "/v1/jobs/abc")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["request_id"] == "boom-1"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    logged = [line for line in telemetry.stdout_lines() if line.get("event") == "unhandled error"]
    assert len(logged) == 1
    assert logged[0]["request_id"] == "boom-1"
    assert "hunter2" in logged[0]["error"]
    assert logged[0]["exception"][0]["exc_type"] == "RuntimeError"  # the traceback, for us
    assert_declared(app, "/v1/jobs/{job_id}", "get", response)


async def test_a_sane_request_id_is_kept_logged_and_on_the_server_span(
    http: httpx.AsyncClient, telemetry: CapturedTelemetry
) -> None:
    """A client's X-Request-ID of allowed characters comes back unchanged, on the request's log lines (`request_id`)
    and as `reelscope.request.id` on its server span."""
    telemetry.clear()
    response = await http.post(
        "/v1/jobs", content=b"x", headers={"Content-Type": "text/plain", "X-Request-ID": "client-Req_42.a"}
    )
    assert response.status_code == 415
    assert response.headers["X-Request-ID"] == "client-Req_42.a"
    refused = [line for line in telemetry.stdout_lines() if line.get("event") == "upload refused"]
    assert [line["request_id"] for line in refused] == ["client-Req_42.a"]
    servers = [span for span in telemetry.spans() if span.kind is SpanKind.SERVER]
    assert [span.attributes.get(REQUEST_ID) for span in servers if span.attributes] == ["client-Req_42.a"]


@pytest.mark.parametrize(
    "incoming", [None, "has spaces", "x" * 129, "semi;colon", "ünï"], ids=["none", "spaces", "129", "semi", "utf8"]
)
async def test_a_missing_or_insane_request_id_is_replaced(http: httpx.AsyncClient, incoming: str | None) -> None:
    """Without a usable X-Request-ID (absent, too long, or other characters) the response carries a new uuid4 hex."""
    headers = {b"X-Request-ID": incoming.encode()} if incoming is not None else {}
    response = await http.get("/healthz", headers=headers)
    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


def _local(app: FastAPI) -> httpx.AsyncClient:
    """A client of the app without its lifespan: routes that need no database or broker."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest.test")


async def test_security_headers_on_every_response(make_app: MakeApp) -> None:
    """nosniff, no-referrer, DENY framing and a CSP on all responses, `no-store` on /v1 only, a CSP loose enough
    for Swagger UI on /docs only, and no HSTS unless the API is served over HTTPS."""
    async with _local(make_app()) as client:
        for path in ("/healthz", "/v1/nothing", "/openapi.json", "/docs"):
            headers = (await client.get(path)).headers
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"
            assert headers["X-Frame-Options"] == "DENY"
            assert "Strict-Transport-Security" not in headers
            assert ("no-store" in headers.get("Cache-Control", "")) is path.startswith("/v1/")
            if path == "/docs":
                assert "script-src 'unsafe-inline' https://cdn.jsdelivr.net" in headers["Content-Security-Policy"]
            else:
                assert headers["Content-Security-Policy"] == STRICT_CSP
        assert (await client.get("/redoc")).status_code == 404
    async with _local(make_app(served_over_https=True)) as client:
        assert (await client.get("/healthz")).headers["Strict-Transport-Security"].startswith("max-age=31536000")


PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,x-request-id"}


async def test_cors_is_off_by_default(make_app: MakeApp) -> None:
    """With no origins configured, neither a preflight nor a simple request gets any Access-Control header."""
    async with _local(make_app()) as client:
        preflight = await client.options("/v1/jobs", headers={"Origin": "https://app.example", **PREFLIGHT})
        simple = await client.get("/healthz", headers={"Origin": "https://app.example"})
    for response in (preflight, simple):
        assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    assert_problem(preflight, 405, "method_not_allowed", "/v1/jobs")


async def test_cors_allows_exactly_the_configured_origins(make_app: MakeApp) -> None:
    """A configured origin's preflight is allowed for GET/POST/DELETE with our headers, responses expose
    X-Request-ID, Location and Retry-After; another origin is not allowed."""
    async with _local(make_app(cors_allowed_origins=["https://app.example"])) as client:
        allowed = await client.options("/v1/jobs", headers={"Origin": "https://app.example", **PREFLIGHT})
        other = await client.options("/v1/jobs", headers={"Origin": "https://evil.example", **PREFLIGHT})
        simple = await client.get("/healthz", headers={"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert set(allowed.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST", "DELETE"}
    assert {"authorization", "content-type", "x-request-id"} <= set(
        allowed.headers["Access-Control-Allow-Headers"].lower().split(", ")
    )
    assert allowed.headers["X-Request-ID"]  # preflights get an id (and the security headers) too
    assert "Access-Control-Allow-Origin" not in other.headers
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example"
    exposed = set(simple.headers["Access-Control-Expose-Headers"].lower().split(", "))
    assert exposed == {"x-request-id", "location", "retry-after"}


def test_cors_origins_setting_parses_lists_and_refuses_wildcards(monkeypatch: pytest.MonkeyPatch) -> None:
    """REELSCOPE_CORS_ALLOWED_ORIGINS takes a comma list or JSON, and refuses `*` or an origin with a path."""
    monkeypatch.setenv("REELSCOPE_CORS_ALLOWED_ORIGINS", "https://a.example, http://localhost:3000")
    assert HttpSettings().cors_allowed_origins == ["https://a.example", "http://localhost:3000"]
    monkeypatch.setenv("REELSCOPE_CORS_ALLOWED_ORIGINS", '["https://b.example"]')
    assert HttpSettings().cors_allowed_origins == ["https://b.example"]
    for bad in ("*", "https://a.example/app"):
        monkeypatch.setenv("REELSCOPE_CORS_ALLOWED_ORIGINS", bad)
        with pytest.raises(ValueError, match="is not an origin"):
            HttpSettings()
    monkeypatch.delenv("REELSCOPE_CORS_ALLOWED_ORIGINS")
    assert HttpSettings().cors_allowed_origins == []


def test_every_problem_code_is_documented() -> None:
    """docs/api-errors.md has a row with each code of the catalog and its status."""
    table = (ROOT / "docs" / "api-errors.md").read_text()
    for kind in CATALOG:
        assert re.search(rf"^\| {kind.status} \| `{kind.code}` \|", table, re.MULTILINE), kind.code


async def test_a_client_that_hangs_up_mid_upload_is_not_a_server_error(
    make_app: MakeApp, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    """The ASGI server says `http.disconnect` halfway through the body (what uvicorn does when a client hangs up):
    a 4xx on the span and in the log, no "unhandled error" 500 counted against the API, no partial file left."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode() + b"\0" * 4096
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": head, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # a gone client sends nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    app = make_app()
    async for http in _serve(app):
        telemetry.clear()
        headers = [
            (b"host", b"ingest.test"),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
            (b"authorization", http.headers["Authorization"].encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/jobs",
            "raw_path": b"/v1/jobs",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("ingest.test", 80),
        }
        await asyncio.wait_for(app(scope, receive, send), timeout=10)
    (start,) = [message for message in sent if message["type"] == "http.response.start"]
    assert start["status"] == 422
    assert not [line for line in telemetry.stdout_lines() if line.get("event") == "unhandled error"]
    refused = [line for line in telemetry.stdout_lines() if line.get("event") == "upload refused"]
    assert [line["reason"] for line in refused] == ["the client closed the connection before the upload was complete"]
    (server,) = [span for span in telemetry.spans() if span.kind is SpanKind.SERVER]
    assert server.status.status_code is StatusCode.UNSET  # a 4xx is not a server span error
    assert not list((tmp_path / "scratch").glob("*.part"))
