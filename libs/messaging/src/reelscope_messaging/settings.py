"""Broker settings every service shares (env prefix `REELSCOPE_`)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShutdownSettings(BaseSettings):
    """How a service stops on SIGTERM: workers and ingest alike."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    shutdown_grace_s: float = Field(
        default=25.0,
        ge=0,
        description="On SIGTERM, how long in-flight work (messages, open requests) may run on before it is cut off "
        "and its messages requeued (keep it below the pod's terminationGracePeriodSeconds, 30 by default, minus "
        "a few seconds)",
    )
    shutdown_timeout_s: float = Field(default=5.0, gt=0, description="Bound on flushing telemetry at exit")


class BrokerSettings(BaseSettings):
    """How to reach RabbitMQ and how much to take on at once."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ URL")
    publish_timeout_s: float = Field(default=10.0, gt=0, description="Bound on waiting for a publisher confirm")
    prefetch: int = Field(default=1, ge=1, le=1000, description="Unacked messages per consumer")
    connect_timeout_s: float = Field(default=10.0, gt=0)
    queue_type: Literal["quorum", "classic"] = Field(
        default="quorum",
        description=(
            "Work and parking queues: quorum (replicated, the default) or classic (a single-node dev broker). "
            "A queue keeps the type it was declared with: switching needs the queues deleted first."
        ),
    )
    max_attempts: int = Field(default=5, ge=1, le=20, description="Deliveries of a message before it is parked")
    retry_delays_s: tuple[float, ...] = Field(
        default=(1.0, 5.0, 30.0, 120.0),
        description="Delay before retry n (the last one repeats): REELSCOPE_RETRY_DELAYS_S=[1,5,30,120]",
    )

    def retry_delay_s(self, attempt: int) -> float:
        """How long to wait before delivering attempt `attempt + 1` (exponential-ish, from the table)."""
        return self.retry_delays_s[min(attempt, len(self.retry_delays_s)) - 1]
