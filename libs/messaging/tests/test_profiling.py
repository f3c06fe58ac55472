"""`/debug/profile` on a worker's health port: real pyinstrument on the test's event loop, served by the real health
server on 127.0.0.1; the settings that keep it off (and token-guarded) by default; and a real worker process that
serves it only when enabled."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from reelscope_messaging import WorkerSettings
from reelscope_messaging.health import Readiness, health_server
from reelscope_messaging.profiling import LoopProfiler, WorkerProfilingSettings, profile_route
from reelscope_messaging.testing import BUSY_FRAME, busy_loop, eventually
from starlette.routing import BaseRoute

TOKEN = "a-profiling-token-for-the-tests"
WORKER = Path(__file__).with_name("shutdown_worker.py")
START_TIMEOUT_S = 30.0


@asynccontextmanager
async def serving(routes: Sequence[BaseRoute]) -> AsyncIterator[httpx.AsyncClient]:
    """The health server with `routes`, on an OS-chosen port of 127.0.0.1 in this loop, and a client to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = health_server("127.0.0.1", port, lambda: Readiness.READY, routes)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def profiled() -> AsyncIterator[tuple[httpx.AsyncClient, LoopProfiler]]:
    """A health port serving `/debug/profile` behind TOKEN, its client and its profiler."""
    profiler = LoopProfiler("test-worker")
    async with serving([profile_route(profiler, SecretStr(TOKEN))]) as http:
        yield http, profiler


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.unit
async def test_a_profile_shows_the_coroutine_that_was_busy_on_the_loop(
    profiled: tuple[httpx.AsyncClient, LoopProfiler],
) -> None:
    """With the token, the answer is a speedscope document (a download) whose frames include the function a
    coroutine on the loop was burning CPU in while the profile ran."""
    http, _ = profiled
    async with busy_loop():
        response = await http.get("/debug/profile", params={"seconds": 1}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="test-worker-profile-')
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert BUSY_FRAME in {frame["name"] for frame in document["shared"]["frames"]}
    assert document["profiles"][0]["endValue"] >= 0.9  # about the one second asked for


@pytest.mark.unit
async def test_format_html_answers_pyinstruments_page(profiled: tuple[httpx.AsyncClient, LoopProfiler]) -> None:
    """`format=html` answers pyinstrument's self-contained HTML page, holding the busy function's frame."""
    http, _ = profiled
    async with busy_loop():
        response = await http.get("/debug/profile", params={"seconds": 1, "format": "html"}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.html"')
    assert response.text.lstrip().startswith("<!DOCTYPE html>")
    assert BUSY_FRAME in response.text


@pytest.mark.unit
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-of-the-same-size!", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
async def test_no_or_a_wrong_token_is_401_before_any_sampling(
    profiled: tuple[httpx.AsyncClient, LoopProfiler], authorization: str | None
) -> None:
    """Without the bearer token (missing, wrong, another scheme) the answer is a 401 problem with WWW-Authenticate,
    given at once: nothing is sampled for an unauthenticated caller."""
    http, _ = profiled
    headers = {"Authorization": authorization} if authorization is not None else {}
    started = time.monotonic()
    response = await http.get("/debug/profile", params={"seconds": 5}, headers=headers)
    assert time.monotonic() - started < 2
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="reelscope-worker"'
    assert TOKEN not in response.text


@pytest.mark.unit
@pytest.mark.parametrize(
    ("params", "where"),
    [({"seconds": 0}, "seconds"), ({"seconds": 61}, "seconds"), ({"seconds": "ten"}, "seconds"),
     ({"format": "svg"}, "format"), ({"interval": "1"}, "interval")],
)  # fmt: skip
async def test_a_bad_query_is_a_422_naming_the_parameter(
    profiled: tuple[httpx.AsyncClient, LoopProfiler], params: dict[str, object], where: str
) -> None:
    """Seconds outside 1..60 or not a number, an unknown format or parameter: a 422 problem whose detail names it."""
    http, _ = profiled
    response = await http.get("/debug/profile", params=params, headers=AUTH)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(f"{where}: ")


@pytest.mark.unit
async def test_a_second_profile_while_one_runs_is_409(profiled: tuple[httpx.AsyncClient, LoopProfiler]) -> None:
    """While one profile is being taken another request answers 409 at once; the first still gets its profile,
    and the next one after it is taken again."""
    http, profiler = profiled
    first = asyncio.create_task(http.get("/debug/profile", params={"seconds": 1}, headers=AUTH))
    await eventually(lambda: profiler.busy)
    second = await http.get("/debug/profile", params={"seconds": 1}, headers=AUTH)
    assert second.status_code == 409
    assert "already" in second.json()["detail"]
    assert (await first).status_code == 200
    assert not profiler.busy
    assert (await http.get("/debug/profile", params={"seconds": 1}, headers=AUTH)).status_code == 200


@pytest.mark.unit
def test_profiling_is_off_by_default_and_needs_a_token_when_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Off by default; enabled without a token, with a short one, or without the health port, a worker refuses to
    start with a message saying what to set (never echoing the token); the token may come from a file."""
    for name in list(os.environ):
        if name.startswith("REELSCOPE_PROFILING_") or name == "REELSCOPE_HEALTH_PORT":
            monkeypatch.delenv(name)
    assert not WorkerSettings().profiling_enabled
    monkeypatch.setenv("REELSCOPE_PROFILING_ENABLED", "true")
    monkeypatch.setenv("REELSCOPE_HEALTH_PORT", "9464")
    with pytest.raises(ValidationError, match="REELSCOPE_PROFILING_TOKEN or REELSCOPE_PROFILING_TOKEN_FILE"):
        WorkerSettings()
    monkeypatch.setenv("REELSCOPE_PROFILING_TOKEN", "short-secret")
    with pytest.raises(ValidationError, match="shorter than 16") as refused:
        WorkerSettings()
    assert "short-secret" not in str(refused.value)
    monkeypatch.delenv("REELSCOPE_PROFILING_TOKEN")
    (tmp_path / "token").write_text(TOKEN + "\n")
    monkeypatch.setenv("REELSCOPE_PROFILING_TOKEN_FILE", str(tmp_path / "token"))
    assert WorkerSettings().token.get_secret_value() == TOKEN
    assert TOKEN not in repr(WorkerProfilingSettings())
    monkeypatch.setenv("REELSCOPE_HEALTH_PORT", "0")
    with pytest.raises(ValidationError, match="needs the health port"):
        WorkerSettings()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.integration
@pytest.mark.parametrize("enabled", [True, False])
def test_a_worker_serves_the_profile_only_when_enabled(tmp_path: Path, enabled: bool) -> None:
    """A real worker process (run_worker) with REELSCOPE_PROFILING_ENABLED=true and a token serves a speedscope
    profile of its loop on its health port; left at the default, the path is a 404."""
    port, dead = _free_port(), _free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "REELSCOPE_"))}
    environment |= {
        "REELSCOPE_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{dead}/",  # nothing listens: it keeps retrying
        "REELSCOPE_HEALTH_HOST": "127.0.0.1",
        "REELSCOPE_HEALTH_PORT": str(port),
        "OTEL_SDK_DISABLED": "true",
    }
    if enabled:
        environment |= {"REELSCOPE_PROFILING_ENABLED": "true", "REELSCOPE_PROFILING_TOKEN": TOKEN}
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), "reelscope.test.profiling", str(tmp_path / "journal"), "0"],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                assert process.poll() is None, f"worker exited:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no health port:\n{log.read_text()[-3000:]}"
                try:
                    http.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            response = http.get("/debug/profile", params={"seconds": 1}, headers=AUTH)
        if enabled:
            assert response.status_code == 200, response.text
            frames = {frame["name"] for frame in json.loads(response.text)["shared"]["frames"]}
            assert "_run_once" in frames, frames  # the worker's event loop, sampled from inside the process
        else:
            assert response.status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()[-3000:]
