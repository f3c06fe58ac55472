"""Shared fixtures: a private local stack (own run dir, own 127.0.0.1 ports) for integration and
end-to-end tests, so `make test` never touches a stack a developer started with `make up`; a real MinIO
server (built by scripts/build-minio.sh, which `make setup` runs) for everything that stores to S3."""

import http.client
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from reelscope_cli.client import RabbitMQManagementClient
from reelscope_cli.stack.components import collector, rabbitmq
from reelscope_cli.stack.main import down, up
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings
from reelscope_messaging import Broker, BrokerSettings
from reelscope_storage import StorageSettings
from reelscope_storage.s3 import S3Storage
from reelscope_telemetry.testing import CapturedTelemetry

TEST_PORTS = {
    "ingest_port": 38080,
    "prometheus_port": 39090,
    "amqp_port": 35672,
    "rabbitmq_management_port": 35673,
    "rabbitmq_prometheus_port": 35692,
    "rabbitmq_dist_port": 35674,
    "rabbitmq_node": "reelscope-test@localhost",
    "otlp_grpc_port": 34317,
    "otlp_http_port": 34318,
    "collector_prometheus_port": 38889,
    "collector_metrics_port": 38888,
    "collector_health_port": 33133,
    "transcode_health_port": 38091,
    "transcription_health_port": 38092,
    "notification_health_port": 38093,
    # Clear of every port above shifted by the fault suite's 1000 and the alert tests' 2000.
    "alertmanager_port": 33093,
    "alert_receiver_port": 33097,
    "alert_smtp_port": 32525,
}


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> StackSettings:
    """The test stack's layout; REELSCOPE_TEST_PORT_OFFSET moves its ports (two test sessions side by side)."""
    run_dir: Path = tmp_path_factory.mktemp("stack")
    offset = int(os.environ.get("REELSCOPE_TEST_PORT_OFFSET", "0"))
    return StackSettings(run_dir=run_dir, **TEST_PORTS).shifted(offset, run_dir)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def rabbitmq_url(stack_settings: StackSettings) -> Iterator[str]:
    """A real RabbitMQ node for this test session (reused by the full stack if that starts too)."""
    manager = ProcessManager(stack_settings.run_dir)
    component = rabbitmq(stack_settings)
    manager.start(component, stack_settings.start_timeout_s)
    yield f"amqp://guest:guest@127.0.0.1:{stack_settings.amqp_port}/"
    manager.stop(component)


@pytest.fixture(scope="session")
def local_stack(stack_settings: StackSettings, rabbitmq_url: str) -> Iterator[StackSettings]:
    """Every component of the local stack, started and ready; stopped by PID afterwards."""
    up(stack_settings)
    yield stack_settings
    down(stack_settings)


@pytest.fixture(scope="session")
def collector_binary(stack_settings: StackSettings) -> Path:
    return Path(collector(stack_settings).argv[0])


@pytest.fixture
async def broker(rabbitmq_url: str, telemetry: CapturedTelemetry) -> AsyncIterator[Broker]:
    """A connected Broker on the session's RabbitMQ, tracing into the test package's `telemetry` fixture."""
    settings = BrokerSettings(amqp_url=rabbitmq_url, publish_timeout_s=5)
    connected = Broker(settings, telemetry.telemetry.tracer, telemetry.telemetry.instruments)
    await connected.connect()
    yield connected
    await connected.close()


@pytest.fixture
def private_vhost_url(stack_settings: StackSettings, rabbitmq_url: str) -> Iterator[str]:
    """The AMQP URL of a fresh RabbitMQ virtual host, deleted afterwards: for a test that consumes a work queue
    itself, which the session stack's workers (sharing the session's vhost) would otherwise take messages from."""
    vhost = f"reelscope-test-{uuid.uuid4().hex[:8]}"
    with RabbitMQManagementClient(stack_settings.rabbitmq_management_url, timeout_s=10) as rabbitmq:
        rabbitmq.call("PUT", f"/vhosts/{vhost}")
        rabbitmq.call("PUT", f"/permissions/{vhost}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
        try:
            yield f"{rabbitmq_url}{vhost}"
        finally:
            rabbitmq.call("DELETE", f"/vhosts/{vhost}")


MINIO_START_TIMEOUT_S = 30.0
PART_SIZE = 5 * 1024 * 1024  # S3's smallest part, so a test file of a few MiB is uploaded in several parts


class MakeS3Storage(Protocol):
    def __call__(self, **overrides: object) -> S3Storage: ...


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str


def minio_binary() -> Path:
    """Where scripts/build-minio.sh leaves the server (same cache variable as the script)."""
    cache = Path(os.environ.get("REELSCOPE_CACHE") or Path.home() / ".cache" / "reelscope")
    return cache / "minio-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + MINIO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"MinIO exited with {process.returncode} at start-up:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, http.client.HTTPException, OSError):  # a self-connection reads garbage
            pass
        time.sleep(0.1)
    pytest.fail(f"MinIO did not become ready within {MINIO_START_TIMEOUT_S}s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real MinIO server for this test session, with its data in a temporary directory; stopped afterwards."""
    binary = minio_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"MinIO is not built ({binary} is missing): run `make setup` or `bash scripts/build-minio.sh`")
    root = tmp_path_factory.mktemp("minio")
    server = S3Server(f"http://127.0.0.1:{free_port()}", "reelscope-test", "reelscope-test-secret")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root),
        "MINIO_ROOT_USER": server.access_key,
        "MINIO_ROOT_PASSWORD": server.secret_key,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    address = server.endpoint_url.removeprefix("http://")
    log = root / "minio.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), "server", str(root / "data"), "--address", address, "--quiet"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ready(f"{server.endpoint_url}/minio/health/ready", process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the test's credentials: no developer profile or config file can leak into the S3 client."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def make_s3_storage(
    s3_server: S3Server, aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[MakeS3Storage]:
    """Build `S3Storage`s on the session's server (a fresh bucket each unless told), closing them afterwards."""
    made: list[S3Storage] = []

    def make(**overrides: object) -> S3Storage:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", str(overrides.pop("access_key", s3_server.access_key)))
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", str(overrides.pop("secret_key", s3_server.secret_key)))
        fields: dict[str, object] = {
            "storage_backend": "s3",
            "s3_endpoint_url": s3_server.endpoint_url,
            "s3_bucket": f"test-{uuid.uuid4().hex[:16]}",
            "s3_create_bucket": True,
            "s3_part_size_bytes": PART_SIZE,
            "scratch_dir": tmp_path / "scratch",
        }
        storage = S3Storage(StorageSettings.model_validate(fields | overrides))
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()
