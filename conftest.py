"""Shared fixtures: a private local stack (own run dir, own 127.0.0.1 ports) for integration and
end-to-end tests, so `make test` never touches a stack a developer started with `make up`."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from reelscope_cli.stack.components import collector, rabbitmq
from reelscope_cli.stack.main import down, up
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings
from reelscope_messaging import Broker, BrokerSettings
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
}


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> StackSettings:
    run_dir: Path = tmp_path_factory.mktemp("stack")
    return StackSettings(run_dir=run_dir, **TEST_PORTS)  # type: ignore[arg-type]


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
    connected = Broker(BrokerSettings(amqp_url=rabbitmq_url, publish_timeout_s=5), telemetry.telemetry.tracer)
    await connected.connect()
    yield connected
    await connected.close()
