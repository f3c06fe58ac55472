"""Where the local stack keeps its files and which 127.0.0.1 ports it uses (all overridable by env)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def repo_root() -> Path:
    """The checkout this package runs from (configs are read from it, never copied)."""
    return Path(__file__).resolve().parents[5]


class StackSettings(BaseSettings):
    """Local stack layout; `REELSCOPE_RUN_DIR=/tmp/x REELSCOPE_INGEST_PORT=18080 make up` runs a second one."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    run_dir: Path = Field(default_factory=lambda: repo_root() / ".run")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "reelscope")
    ingest_port: int = 8080
    prometheus_port: int = 9090
    amqp_port: int = 5672
    rabbitmq_management_port: int = 15672
    rabbitmq_prometheus_port: int = 15692
    rabbitmq_dist_port: int = 25672
    rabbitmq_node: str = "reelscope@localhost"
    otlp_grpc_port: int = 4317
    otlp_http_port: int = 4318
    collector_prometheus_port: int = 8889
    collector_metrics_port: int = 8888
    collector_health_port: int = 13133
    transcode_health_port: int = 8091
    transcription_health_port: int = 8092
    notification_health_port: int = 8093
    alertmanager_port: int = 9093
    alert_receiver_port: int = 9097
    alert_smtp_port: int = 2525
    start_timeout_s: float = 90.0
    alert_for_max: str = "1m"
    """Every rule's `for:` is capped at this on the local stack, so a scenario's alert fires within minutes
    (REELSCOPE_ALERT_FOR_MAX; empty keeps the rules' own durations; the tests use seconds)."""
    alertmanager_group_wait: str = "10s"
    alertmanager_group_interval: str = "30s"
    """Alertmanager's grouping timers on the local stack (production's are 30s and 5m): a resolved alert is
    notified at the next group interval."""
    metric_expiration: str = "2m"
    """How long the collector keeps a series nobody reports any more: a killed service's `target_info` vanishes
    after this, which is what ReelscopeServiceDown watches (production keeps 30m)."""

    def shifted(self, offset: int, run_dir: Path) -> "StackSettings":
        """A second stack beside this one: every port moved by `offset`, its own run dir and RabbitMQ node name."""
        ports = {name: value + offset for name, value in self.model_dump().items() if name.endswith("_port")}
        name, _, host = self.rabbitmq_node.partition("@")
        node = f"{name}-{offset}@{host}" if offset else self.rabbitmq_node
        return self.model_copy(update=ports | {"run_dir": run_dir, "rabbitmq_node": node})

    @property
    def telemetry_dir(self) -> Path:
        return self.run_dir / "telemetry"

    @property
    def storage_dir(self) -> Path:
        return self.run_dir / "storage"

    @property
    def api_key_file(self) -> Path:
        """The stack's API key (made by `reelscope-stack up`, readable by its owner only)."""
        return self.run_dir / "api-key"

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def rabbitmq_management_url(self) -> str:
        return f"http://127.0.0.1:{self.rabbitmq_management_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    @property
    def alert_notifications_file(self) -> Path:
        """Every notification Alertmanager delivered to the local alert receiver, one JSON object per line."""
        return self.run_dir / "alertmanager" / "notifications.jsonl"

    @property
    def alert_webhook_token_file(self) -> Path:
        """The bearer token Alertmanager's webhook sends and the local receiver checks."""
        return self.run_dir / "alertmanager" / "secrets" / "webhook-token"

    @property
    def flags_file(self) -> Path:
        """The failure flags every service reads (flagd's JSON format; `reelscope flags set` edits it)."""
        return self.run_dir / "flags.json"

    @property
    def collector_binary(self) -> Path:
        return self.cache_dir / "otelcol-reelscope"
