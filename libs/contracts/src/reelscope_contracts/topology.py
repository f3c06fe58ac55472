"""RabbitMQ names: one durable topic exchange, one durable queue per consumer, routing keys per event.

Every service declares the part of this topology it uses, idempotently, at start-up; because the names
live here, a publisher and its consumer cannot drift apart.
"""

from dataclasses import dataclass
from enum import StrEnum

EXCHANGE = "reelscope"


class RoutingKey(StrEnum):
    """Routing keys of the events that move a job through the pipeline."""

    SUBMITTED = "job.submitted"
    STAGE_STARTED = "job.stage.started"
    TRANSCODED = "job.transcoded"
    COMPLETED = "job.completed"
    FAILED = "job.failed"
    NOTIFIED = "job.notified"
    PROGRESS = "job.progress"
    CANCELLED = "job.cancelled"


@dataclass(frozen=True)
class QueueSpec:
    """A durable queue and the routing keys bound to it on the exchange."""

    name: str
    bindings: tuple[RoutingKey, ...]
    transient: bool = False
    """A per-process broadcast queue: server-named, exclusive, deleted with its connection."""


TRANSCODE = QueueSpec("reelscope.transcode", (RoutingKey.SUBMITTED,))
TRANSCRIPTION = QueueSpec("reelscope.transcription", (RoutingKey.TRANSCODED,))
NOTIFICATION = QueueSpec("reelscope.notification", (RoutingKey.COMPLETED, RoutingKey.FAILED, RoutingKey.CANCELLED))
# Every worker process hears every cancellation, to stop the job if it is working on it.
CANCELLATIONS = QueueSpec("", (RoutingKey.CANCELLED,), transient=True)
# Ingest owns job state: it hears every stage event and records it.
INGEST_EVENTS = QueueSpec(
    "reelscope.ingest.events",
    (
        RoutingKey.STAGE_STARTED,
        RoutingKey.TRANSCODED,
        RoutingKey.COMPLETED,
        RoutingKey.FAILED,
        RoutingKey.NOTIFIED,
        RoutingKey.PROGRESS,
    ),
)

QUEUES: dict[str, QueueSpec] = {
    "transcode": TRANSCODE,
    "transcription": TRANSCRIPTION,
    "notification": NOTIFICATION,
    "ingest": INGEST_EVENTS,
}
