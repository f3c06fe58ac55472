"""A private local stack for the alert end-to-end tests: they break it on purpose (failure flags, a killed
worker), so it never shares processes with the stack the other tests use (own run dir, ports shifted by 2000).

Only configuration is shortened, never the rules: `for:` durations capped at 5 s, Alertmanager's grouping timers
at 1 s / 5 s, the collector forgetting a silent service after 15 s, and short retries so a failing webhook is
parked within seconds."""

import os
from collections.abc import Iterator

import pytest
from reelscope_cli.stack.main import running
from reelscope_cli.stack.settings import StackSettings

ALERT_PORT_SHIFT = 2000

ALERT_STACK_SETTINGS = {
    "alert_for_max": "5s",
    "alertmanager_group_wait": "1s",
    "alertmanager_group_interval": "5s",
    "metric_expiration": "15s",
}

ALERT_STACK_ENV = {
    "REELSCOPE_RETRY_DELAYS_S": "[0.5,1]",
    "REELSCOPE_MAX_ATTEMPTS": "3",
}


@pytest.fixture(scope="module")
def alert_stack(stack_settings: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackSettings]:
    """Every component of a private stack with the shortened alerting configuration; stopped afterwards."""
    settings = stack_settings.shifted(ALERT_PORT_SHIFT, tmp_path_factory.mktemp("alert-stack")).model_copy(
        update=ALERT_STACK_SETTINGS
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ALERT_STACK_ENV.items():
            patch.setenv(name, os.environ.get(name, value))
        with running(settings):
            yield settings
