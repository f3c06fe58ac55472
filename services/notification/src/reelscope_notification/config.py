"""Notification settings, from `REELSCOPE_*` env vars."""

from pydantic import Field
from reelscope_messaging import WorkerSettings
from reelscope_storage import StorageSettings


class NotificationSettings(WorkerSettings, StorageSettings):
    """How webhook deliveries behave; storage holds the record of which jobs were notified."""

    prefetch: int = Field(default=10, ge=1, le=1000)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
