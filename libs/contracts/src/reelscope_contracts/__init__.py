"""Contracts every Reelscope service shares, so a producer and its consumer can never disagree."""

from reelscope_contracts.messages import (
    FailureCategory,
    JobCancelled,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobNotified,
    JobOwner,
    JobSubmitted,
    JobTranscoded,
    Rendition,
    SkippedRendition,
    StageName,
    StageProgress,
    StageStarted,
    TranscriptInfo,
)
from reelscope_contracts.storage import JobKeys
from reelscope_contracts.topology import (
    EXCHANGE,
    QUEUES,
    QueueSpec,
    RoutingKey,
)

__all__ = [
    "EXCHANGE",
    "QUEUES",
    "FailureCategory",
    "JobCancelled",
    "JobCompleted",
    "JobEvent",
    "JobFailed",
    "JobKeys",
    "JobNotified",
    "JobOwner",
    "JobSubmitted",
    "JobTranscoded",
    "QueueSpec",
    "Rendition",
    "RoutingKey",
    "SkippedRendition",
    "StageName",
    "StageProgress",
    "StageStarted",
    "TranscriptInfo",
]
