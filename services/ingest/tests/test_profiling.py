"""`GET /debug/profile` on ingest: absent unless REELSCOPE_PROFILING_ENABLED, then only for a key with the `admin`
scope; real pyinstrument sampling the event loop of the real app, served by uvicorn on 127.0.0.1 in the test's loop
(so a coroutine the test schedules runs on the profiled loop)."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from reelscope_ingest.api.deps import AppState
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.keys import DEFAULT_TENANT, Scope
from reelscope_ingest.main import create_app
from reelscope_messaging.profiling import LoopProfiler
from reelscope_messaging.testing import BUSY_FRAME, busy_loop, eventually
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration


@asynccontextmanager
async def served(settings: IngestSettings, telemetry: CapturedTelemetry) -> AsyncIterator[tuple[FastAPI, str]]:
    """The real ingest app (lifespan on) under uvicorn on an OS-chosen port of 127.0.0.1, in this loop."""
    app = create_app(settings, telemetry.telemetry)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started, timeout_s=20)
        yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _key(app: FastAPI, *scopes: Scope) -> dict[str, str]:
    """An Authorization header with a new key of `scopes`, made in the running app's database."""
    state: AppState = app.state.reelscope
    issued = await state.keys.create("profiling-test", DEFAULT_TENANT, scopes)
    return {"Authorization": f"Bearer {issued.secret.get_secret_value()}"}


@pytest.fixture
async def enabled(
    ingest_settings: IngestSettings, telemetry: CapturedTelemetry
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict[str, str]]]:
    """Ingest with profiling enabled, a client to it, and an admin key's header."""
    settings = ingest_settings.model_copy(update={"profiling_enabled": True})
    async with served(settings, telemetry) as (app, url), httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield app, http, await _key(app, Scope.ADMIN)


async def test_an_admin_gets_a_profile_of_the_loop_as_speedscope_or_html(
    enabled: tuple[FastAPI, httpx.AsyncClient, dict[str, str]],
) -> None:
    """An admin key gets a speedscope document (a download, not cached) whose frames include the function a
    coroutine on ingest's loop was burning CPU in during the profile; `format=html` gets pyinstrument's page."""
    _, http, admin = enabled
    async with busy_loop():
        response = await http.get("/debug/profile", params={"seconds": 1}, headers=admin)
        page = await http.get("/debug/profile", params={"seconds": 1, "format": "html"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="ingest-profile-')
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert BUSY_FRAME in {frame["name"] for frame in document["shared"]["frames"]}
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert BUSY_FRAME in page.text


async def test_without_the_admin_scope_it_is_401_or_403_before_any_sampling(
    enabled: tuple[FastAPI, httpx.AsyncClient, dict[str, str]],
) -> None:
    """No key is a 401 (`unauthenticated`), a key with submit and read but not admin a 403 (`insufficient_scope`),
    both answered at once: nothing is sampled for them."""
    app, http, _ = enabled
    reader = await _key(app, Scope.SUBMIT, Scope.READ)
    for headers, status, code in (({}, 401, "unauthenticated"), (reader, 403, "insufficient_scope")):
        started = time.monotonic()
        response = await http.get("/debug/profile", params={"seconds": 5}, headers=headers)
        assert time.monotonic() - started < 2
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code


async def test_seconds_out_of_range_is_422_and_a_second_profile_at_once_409(
    enabled: tuple[FastAPI, httpx.AsyncClient, dict[str, str]],
) -> None:
    """seconds 0 or 61 or an unknown format is a 422 `validation_error` naming the parameter; while a profile runs,
    another is a 409 `profile_in_progress`, and the first still gets its profile."""
    app, http, admin = enabled
    for params, where in (({"seconds": 0}, "seconds"), ({"seconds": 61}, "seconds"), ({"format": "svg"}, "format")):
        response = await http.get("/debug/profile", params=params, headers=admin)  # type: ignore[arg-type]
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert where in response.json()["detail"]
    profiler: LoopProfiler = app.state.profiler
    first = asyncio.create_task(http.get("/debug/profile", params={"seconds": 1}, headers=admin))
    await eventually(lambda: profiler.busy)
    second = await http.get("/debug/profile", params={"seconds": 1}, headers=admin)
    assert second.status_code == 409
    assert second.json()["code"] == "profile_in_progress"
    assert (await first).status_code == 200


async def test_the_route_is_documented_when_enabled_and_absent_by_default(
    enabled: tuple[FastAPI, httpx.AsyncClient, dict[str, str]],
    ingest_settings: IngestSettings,
    telemetry: CapturedTelemetry,
) -> None:
    """Enabled, the OpenAPI document declares GET /debug/profile with its answers (200 JSON or HTML, 401, 403, 409,
    422); at the default settings the path is a plain 404 `not_found`, even for an admin, and not in the document."""
    app, _, _ = enabled
    operation = app.openapi()["paths"]["/debug/profile"]["get"]
    assert set(operation["responses"]) >= {"200", "401", "403", "409", "422"}
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/html"}
    assert not ingest_settings.profiling_enabled
    async with served(ingest_settings, telemetry) as (default, url), httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/debug/profile", params={"seconds": 1}, headers=await _key(default, Scope.ADMIN))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "/debug/profile" not in default.openapi()["paths"]
