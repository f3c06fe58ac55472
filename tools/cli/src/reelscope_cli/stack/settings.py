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
    start_timeout_s: float = 90.0

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
    def collector_binary(self) -> Path:
        return self.cache_dir / "otelcol-reelscope"
