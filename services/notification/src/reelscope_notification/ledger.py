"""Which channels of a job's notification already reached a final outcome, so a retry does not repeat them.

A job's notification may go out on up to three channels. When one of them fails transiently the whole message
is retried (RetryLater), and the channels that had already delivered, or had been refused for good, must not be
sent again: each final outcome is one small object, `jobs/<id>/notifications/<channel>.json`, in the job's
storage (shared by every replica, like the stage ledger in `reelscope_messaging.idempotency`). It is written
right after the channel's final outcome, before the next channel is tried.

The window left: a crash between a channel's success and its record sends that channel again on the retry
(a webhook repeats its delivery id; a Slack message or an email is repeated once). An unreadable ledger counts
as "not yet" and a failed write is logged: a duplicate is better than a lost notification."""

import json
from dataclasses import dataclass
from typing import Protocol

from reelscope_contracts import JobKeys
from reelscope_storage import ObjectNotFound, StorageError
from reelscope_telemetry import get_logger

from reelscope_notification.results import Channel, DeliveryResult

log = get_logger(__name__)

MAX_RECORD_BYTES = 64 * 1024


class _KeyValueStore(Protocol):
    """The part of `reelscope_storage.Storage` the ledger needs."""

    async def get_bytes(self, key: str, max_bytes: int) -> bytes: ...

    async def put_bytes(self, key: str, data: bytes) -> None: ...


def ledger_key(job_id: str, channel: Channel) -> str:
    """Where one channel's final outcome for one job is recorded."""
    return f"{JobKeys(job_id).prefix}/notifications/{channel}.json"


@dataclass(frozen=True)
class ChannelLedger:
    """Final per-channel outcomes in the job's storage."""

    storage: _KeyValueStore

    async def final_outcome(self, job_id: str, channel: Channel) -> DeliveryResult | None:
        """The channel's recorded final outcome, or None when it has none yet (or it cannot be read)."""
        try:
            raw = await self.storage.get_bytes(ledger_key(job_id, channel), MAX_RECORD_BYTES)
            record = json.loads(raw)
            return DeliveryResult(bool(record["delivered"]), str(record["outcome"]), str(record["detail"]))
        except ObjectNotFound:
            return None
        except (StorageError, ValueError, KeyError, TypeError) as exc:
            log.warning("notification ledger unreadable; trying the channel again", channel=channel, error=str(exc))
            return None

    async def record(self, job_id: str, channel: Channel, result: DeliveryResult) -> None:
        """Record a final (not transient) outcome."""
        record = {"delivered": result.delivered, "outcome": result.outcome, "detail": result.detail}
        try:
            await self.storage.put_bytes(ledger_key(job_id, channel), json.dumps(record).encode())
        except StorageError as exc:
            log.warning(
                "notification ledger not written; a retry may repeat this channel", channel=channel, error=str(exc)
            )
