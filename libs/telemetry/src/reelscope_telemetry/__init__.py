"""Reelscope telemetry: the only place traces, metrics and logs are configured.

telemetry = init_telemetry("transcode")
log = get_logger(__name__)
...
telemetry.shutdown()
"""

import structlog

from reelscope_telemetry import attributes
from reelscope_telemetry._job import JobIdSpanProcessor, current_job_id, job_scope
from reelscope_telemetry._redact import mask_secrets, redact_secrets
from reelscope_telemetry._setup import Telemetry, init_telemetry, sdk_disabled
from reelscope_telemetry.instruments import Instruments
from reelscope_telemetry.messaging import (
    PREVIOUS_ATTEMPT_HEADER,
    consumer_span,
    current_trace_id,
    previous_attempt_header,
    producer_span,
)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A structlog logger; its lines carry trace ids, the service and, inside a job, `job_id`."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger


__all__ = [
    "PREVIOUS_ATTEMPT_HEADER",
    "Instruments",
    "JobIdSpanProcessor",
    "Telemetry",
    "attributes",
    "consumer_span",
    "current_job_id",
    "current_trace_id",
    "get_logger",
    "init_telemetry",
    "job_scope",
    "mask_secrets",
    "previous_attempt_header",
    "producer_span",
    "redact_secrets",
    "sdk_disabled",
]
