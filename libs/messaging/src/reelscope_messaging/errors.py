"""Outcomes a message handler can raise instead of acking by hand."""

from reelscope_contracts import FailureCategory


class StageFailed(Exception):
    """The job cannot succeed (bad input, unusable media): fail it with a human-readable reason
    and a category from the fixed set dashboards group by."""

    def __init__(self, reason: str, category: FailureCategory = FailureCategory.PROCESSING_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category


class RetryLater(Exception):
    """A transient failure (storage or broker hiccup, a webhook answering 5xx or timing out): deliver the
    message again after a delay; after the last attempt the job fails with this reason."""

    def __init__(self, reason: str, category: FailureCategory = FailureCategory.PROCESSING_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category


class PublishFailed(Exception):
    """The broker did not confirm a publish in time, refused it, or could not route it."""


class JobWasCancelled(Exception):
    """The handler found, before publishing its outcome, that the job was cancelled meanwhile: it
    published nothing and removed its outputs; the consume loop acks as for any cancellation."""
