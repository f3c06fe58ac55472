"""Broker settings every service shares (env prefix `REELSCOPE_`)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BrokerSettings(BaseSettings):
    """How to reach RabbitMQ and how much to take on at once."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ URL")
    publish_timeout_s: float = Field(default=10.0, gt=0, description="Bound on waiting for a publisher confirm")
    prefetch: int = Field(default=1, ge=1, le=1000, description="Unacked messages per consumer")
    connect_timeout_s: float = Field(default=10.0, gt=0)
