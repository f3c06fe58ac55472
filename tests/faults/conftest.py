"""A second, private local stack for the fault suite: it kills and restarts parts of its own stack, so it must
never share processes with the stack the other tests use (own run dir, ports shifted by 1000)."""

import os
from collections.abc import Iterator

import pytest
from reelscope_cli.stack.main import running
from reelscope_cli.stack.settings import StackSettings

FAULT_PORT_SHIFT = 1000

# Short retry delays and more attempts: a message that fails while RabbitMQ restarts (~15 s) retries through the
# outage instead of waiting minutes; the stuck-job detector runs often with a deadline no healthy job reaches.
FAULT_SUITE_ENV = {
    "REELSCOPE_RETRY_DELAYS_S": "[0.5,1,2,4]",
    "REELSCOPE_MAX_ATTEMPTS": "10",
    "REELSCOPE_PUBLISH_TIMEOUT_S": "5",
    "REELSCOPE_STUCK_CHECK_INTERVAL_S": "10",
    "REELSCOPE_STUCK_JOB_TIMEOUT_S": "600",
    "REELSCOPE_SHUTDOWN_GRACE_S": "5",
}


@pytest.fixture(scope="module")
def fault_stack(stack_settings: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackSettings]:
    """Every component of a private stack, started and ready, with the fault-suite settings; stopped afterwards."""
    settings = stack_settings.shifted(FAULT_PORT_SHIFT, tmp_path_factory.mktemp("fault-stack"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAULT_SUITE_ENV.items():
            patch.setenv(name, os.environ.get(name, value))
        with running(settings):
            yield settings
