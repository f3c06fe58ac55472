"""The human words for a job's end, shared by Slack and email: a title and a few lines (reason or transcript)."""

from dataclasses import dataclass

from reelscope_contracts import JobCompleted, JobFailed

from reelscope_notification.results import FinalEvent

EXCERPT_CHARS = 300


@dataclass(frozen=True)
class Summary:
    """`outcome` is `completed`, `failed` or `cancelled`; `lines` say why or what, in plain text."""

    job_id: str
    outcome: str
    lines: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"Reelscope job {self.job_id} {self.outcome}"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` characters of `text`, cut at a word and marked with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def summarize(event: FinalEvent) -> Summary:
    """What happened to the job, in a few short lines."""
    if isinstance(event, JobCompleted):
        if event.transcript is not None and event.transcript.text.strip():
            lines = (f"Transcript: {excerpt(event.transcript.text)}",)
        elif event.transcription_skipped_reason:
            lines = (f"No transcript: {event.transcription_skipped_reason}",)
        else:
            lines = ("No speech was recognised.",)
        return Summary(event.job_id, "completed", lines)
    if isinstance(event, JobFailed):
        return Summary(
            event.job_id,
            "failed",
            (f"Failed in {event.stage.value}: {event.reason}", f"Category: {event.category.value}"),
        )
    stage = f" during {event.stage.value}" if event.stage else ""
    return Summary(event.job_id, "cancelled", (f"Cancelled{stage}: {event.reason}",))
