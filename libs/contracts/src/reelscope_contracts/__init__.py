"""Contracts every Reelscope service shares, so a producer and its consumer can never disagree."""

from reelscope_contracts.messages import (
    JobCompleted,
    JobEvent,
    JobFailed,
    JobNotified,
    JobSubmitted,
    JobTranscoded,
    Rendition,
    StageName,
    StageStarted,
    TranscriptInfo,
)
from reelscope_contracts.storage import JobPaths
from reelscope_contracts.topology import (
    EXCHANGE,
    QUEUES,
    QueueSpec,
    RoutingKey,
)

__all__ = [
    "EXCHANGE",
    "QUEUES",
    "JobCompleted",
    "JobEvent",
    "JobFailed",
    "JobNotified",
    "JobPaths",
    "JobSubmitted",
    "JobTranscoded",
    "QueueSpec",
    "Rendition",
    "RoutingKey",
    "StageName",
    "StageStarted",
    "TranscriptInfo",
]
