"""Every RabbitMQ we configure lets a delivery stay unacked longer than the longest transcode: the workers ack when a
stage ends, and RabbitMQ's default consumer_timeout (30 min) would close the channel of a long encode mid-way and
redeliver it. Checked for the chart's bundled broker, docker compose's and the local stack's."""

import re
from pathlib import Path

import pytest
from reelscope_cli.stack.components import rabbitmq_env
from reelscope_cli.stack.settings import StackSettings
from reelscope_transcode.config import TranscodeSettings

from .conftest import FULLNAME, REPO, Renderer

pytestmark = pytest.mark.unit

FFMPEG_CEILING_MS = TranscodeSettings.model_fields["ffmpeg_timeout_ceiling_s"].default * 1000


def consumer_timeout_ms(config: str) -> int:
    """The one `consumer_timeout` of a rabbitmq.conf (fails when it is missing or set twice)."""
    found = re.findall(r"^\s*consumer_timeout\s*=\s*(\d+)\s*$", config, re.MULTILINE)
    assert len(found) == 1, f"consumer_timeout must be set exactly once, found {found}"
    return int(found[0])


def test_the_bundled_broker_outlasts_the_longest_encode(render: Renderer) -> None:
    """The chart's bundled RabbitMQ config sets consumer_timeout above transcode's ffmpeg ceiling."""
    config_maps = [o for o in render("default-values.yaml") if o["kind"] == "ConfigMap"]
    conf = next(o for o in config_maps if o["metadata"]["name"] == f"{FULLNAME}-rabbitmq")["data"]
    assert consumer_timeout_ms(conf["20-reelscope.conf"]) > FFMPEG_CEILING_MS


def test_the_compose_broker_outlasts_the_longest_encode() -> None:
    """docker compose's RabbitMQ config sets consumer_timeout above transcode's ffmpeg ceiling."""
    conf = (REPO / "deploy" / "compose" / "rabbitmq" / "20-reelscope.conf").read_text()
    assert consumer_timeout_ms(conf) > FFMPEG_CEILING_MS


def test_the_local_broker_outlasts_the_longest_encode(tmp_path: Path) -> None:
    """The local stack's RabbitMQ config sets consumer_timeout above transcode's ffmpeg ceiling."""
    env = rabbitmq_env(StackSettings(run_dir=tmp_path))
    assert consumer_timeout_ms(Path(env["RABBITMQ_CONFIG_FILE"]).read_text()) > FFMPEG_CEILING_MS


def test_a_default_timeout_is_caught() -> None:
    """The check fails on a broker left at RabbitMQ's 30-minute default."""
    assert consumer_timeout_ms("consumer_timeout = 1800000\n") < FFMPEG_CEILING_MS
    with pytest.raises(AssertionError):
        consumer_timeout_ms("log.file = false\n")
