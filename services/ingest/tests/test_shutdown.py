"""Graceful shutdown of ingest: readiness turns 503 "stopping" once shutdown began, and a real `python -m
reelscope_ingest` process finishes an upload that is in flight when SIGTERM arrives, then exits 0."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aio_pika.abc import AbstractQueue
from fastapi.testclient import TestClient
from reelscope_contracts import JobSubmitted, RoutingKey
from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.main import create_app
from reelscope_ingest.shutdown import ShutdownState
from reelscope_messaging import Broker
from reelscope_messaging.testing import collect_events, private_queue
from reelscope_telemetry.testing import CapturedTelemetry

pytestmark = pytest.mark.integration

BOUNDARY = "reelscope-shutdown-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings(tmp_path: Path, rabbitmq_url: str, port: int) -> dict[str, str]:
    return {
        "REELSCOPE_AMQP_URL": rabbitmq_url,
        "REELSCOPE_HOST": "127.0.0.1",
        "REELSCOPE_PORT": str(port),
        "REELSCOPE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}",
        "REELSCOPE_STORAGE_DIR": str(tmp_path / "storage"),
        "REELSCOPE_SCRATCH_DIR": str(tmp_path / "scratch"),
        "REELSCOPE_SHUTDOWN_GRACE_S": "10",
    }


TEST_KEY = "rsk_shutdowntest_" + "k" * 43
"""A declared key (REELSCOPE_API_KEYS_FILE), as the Helm chart gives its smoke test."""


def test_readyz_turns_503_stopping_once_shutdown_began(
    tmp_path: Path, rabbitmq_url: str, telemetry: CapturedTelemetry
) -> None:
    """With the database and RabbitMQ answering, /readyz is 200 until shutdown begins, then 503 "stopping"."""
    settings = IngestSettings(
        amqp_url=rabbitmq_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}",
        storage_dir=tmp_path / "storage",
        scratch_dir=tmp_path / "scratch",
    )
    shutdown = ShutdownState()
    with TestClient(create_app(settings, telemetry.telemetry, shutdown)) as client:
        deadline = time.monotonic() + 20
        while (response := client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, response.json()
            time.sleep(0.1)
        shutdown.begin()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "stopping"}


@pytest.fixture
def ingest_process(tmp_path: Path, rabbitmq_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """A real ingest process on a free 127.0.0.1 port (killed afterwards if still running)."""
    port = _free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    keys_file = tmp_path / "api-keys.json"
    keys_file.write_text(json.dumps([{"name": "shutdown-test", "key": TEST_KEY}]))
    environment |= _settings(tmp_path, rabbitmq_url, port) | {
        "REELSCOPE_API_KEYS_FILE": str(keys_file),
        "REELSCOPE_LOG_FORMAT": "json",
        "OTEL_SDK_DISABLED": "true",
    }
    log = tmp_path / "ingest.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "reelscope_ingest"],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    yield process, f"http://127.0.0.1:{port}", log
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@pytest.fixture
async def submitted(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private queue bound to `job.submitted`, so the upload's publish is routed and can be seen."""
    async with private_queue(broker, "reelscope.test.ingest-shutdown", (RoutingKey.SUBMITTED,)) as queue:
        yield queue


async def test_sigterm_finishes_an_upload_in_flight_then_exits_zero(
    ingest_process: tuple[subprocess.Popen[bytes], str, Path], submitted: AbstractQueue, media: bytes
) -> None:
    """SIGTERM arrives half-way through an upload: new connections are refused, the upload still completes
    (202, job.submitted published), and the process exits 0 (uvicorn's default would die by the signal)."""
    process, url, log = ingest_process
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as client:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"ingest not ready:\n{log.read_text()[-3000:]}"
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)

        signalled = asyncio.Event()
        resume = asyncio.Event()

        async def body() -> AsyncIterator[bytes]:
            yield (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
                "Content-Type: video/mp4\r\n\r\n"
            ).encode()
            yield media[: len(media) // 2]
            signalled.set()
            await resume.wait()
            yield media[len(media) // 2 :]
            yield f"\r\n--{BOUNDARY}--\r\n".encode()

        upload = asyncio.create_task(
            client.post(
                "/v1/jobs", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
            )
        )
        await asyncio.wait_for(signalled.wait(), timeout=10)
        await asyncio.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=url, timeout=2) as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get("/readyz")
        assert process.poll() is None, "the process must wait for the upload in flight"
        resume.set()
        response = await asyncio.wait_for(upload, timeout=10)

    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    for _ in range(300):
        if process.poll() is not None:
            break
        await asyncio.sleep(0.05)
    assert process.returncode == 0, log.read_text()[-3000:]
    events = await collect_events(submitted, job_id, until=(JobSubmitted,), timeout_s=5)
    assert len(events) == 1
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    logged = [line["event"] for line in lines]
    assert "ingest stopping: readiness off, finishing open requests" in logged
    assert logged.index("draining") < logged.index("flushing telemetry")
