"""Which stages already finished for a job, so a redelivered message is acked instead of done twice.

RabbitMQ delivers at least once: a worker that dies (or loses its connection) after publishing a stage's
outcome but before its ack gets the message again. The idempotency key is the job id plus the stage; the
record lives in the job's storage (shared by every replica of a worker, unlike process memory), written
after the stage's outcome was confirmed by the broker and before the ack.

The window left: a crash between that confirm and the record's write redoes the stage once. Its outputs
are overwritten in place (same keys), the next stage and ingest drop the duplicate event by the same
means, and a webhook repeated that way carries the same delivery id, so receivers can drop it too.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from reelscope_contracts import JobKeys


class CompletionLedger(Protocol):
    """Records of finished (job, stage) pairs."""

    async def has_completed(self, job_id: str, stage: str) -> bool: ...

    async def record_completed(self, job_id: str, stage: str) -> None: ...


class _KeyValueStore(Protocol):
    """The part of `reelscope_storage.Storage` the ledger needs."""

    async def exists(self, key: str) -> bool: ...

    async def put_bytes(self, key: str, data: bytes) -> None: ...


@dataclass(frozen=True)
class StorageLedger:
    """One small object per finished stage, `jobs/<id>/stages/<stage>.done` (see `JobKeys.stage_done`)."""

    storage: _KeyValueStore

    async def has_completed(self, job_id: str, stage: str) -> bool:
        return await self.storage.exists(JobKeys(job_id).stage_done(stage))

    async def record_completed(self, job_id: str, stage: str) -> None:
        stamp = datetime.now(UTC).isoformat()
        await self.storage.put_bytes(JobKeys(job_id).stage_done(stage), f"{stage} finished at {stamp}\n".encode())
