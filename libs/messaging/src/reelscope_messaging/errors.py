"""Outcomes a message handler can raise instead of acking by hand."""


class StageFailed(Exception):
    """The job cannot succeed (bad input, unusable media): fail it with a human-readable reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PublishFailed(Exception):
    """The broker did not confirm a publish in time, refused it, or could not route it."""
