"""Notification settings, from `REELSCOPE_*` env vars."""

from pydantic import Field
from reelscope_messaging import WorkerSettings


class NotificationSettings(WorkerSettings):
    """How webhook deliveries behave."""

    prefetch: int = Field(default=10, ge=1, le=1000)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
