"""`reelscope-stack up` that cannot finish stops what it started: a half stack would hold its ports (and a test
fixture that never got the stack would never stop it), which once broke the next stack's start."""

import socket
from pathlib import Path

import pytest
from reelscope_cli.stack.main import up
from reelscope_cli.stack.processes import ProcessManager, port_open
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.integration


def test_a_failed_start_stops_the_components_it_started(stack_settings: StackSettings, tmp_path: Path) -> None:
    settings = stack_settings.shifted(3000, tmp_path / "half-stack")
    with socket.create_server(("127.0.0.1", settings.otlp_grpc_port)):  # the collector cannot start
        with pytest.raises(RuntimeError, match="otel-collector"):
            up(settings)
        assert ProcessManager(settings.run_dir).pid_of("rabbitmq") is None
        assert not port_open(settings.amqp_port)
