"""RabbitMQ for Reelscope services: topology, confirmed and traced publishing, one consume loop."""

from reelscope_messaging.broker import DEAD_LETTER_EXCHANGE, PARKING_QUEUE, Broker, connect_with_retry
from reelscope_messaging.cancellation import CancellationWatch
from reelscope_messaging.consumer import Consumer, FailurePolicy, Handler
from reelscope_messaging.errors import JobWasCancelled, PublishFailed, RetryLater, StageFailed
from reelscope_messaging.idempotency import CompletionLedger, StorageLedger
from reelscope_messaging.progress import ProgressReporter
from reelscope_messaging.settings import BrokerSettings, ShutdownSettings
from reelscope_messaging.worker import WorkerContext, WorkerSettings, WorkerSpec, run_worker

__all__ = [
    "DEAD_LETTER_EXCHANGE",
    "PARKING_QUEUE",
    "Broker",
    "BrokerSettings",
    "CancellationWatch",
    "CompletionLedger",
    "Consumer",
    "FailurePolicy",
    "Handler",
    "JobWasCancelled",
    "ProgressReporter",
    "PublishFailed",
    "RetryLater",
    "ShutdownSettings",
    "StageFailed",
    "StorageLedger",
    "WorkerContext",
    "WorkerSettings",
    "WorkerSpec",
    "connect_with_retry",
    "run_worker",
]
