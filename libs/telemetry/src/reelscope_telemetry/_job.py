"""Carry the current job id through context so every span and log line of a job is tagged with it."""

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from reelscope_telemetry.attributes import JOB_ID

_JOB_ID_KEY = otel_context.create_key("reelscope.job.id")


def current_job_id(ctx: Context | None = None) -> str | None:
    """The job id bound in `ctx` (default: the current context), if any."""
    value = otel_context.get_value(_JOB_ID_KEY, ctx)
    return value if isinstance(value, str) else None


@contextmanager
def job_scope(job_id: str) -> Iterator[None]:
    """Within this block, spans get `reelscope.job.id` and log lines get `job_id`.

    The id comes from our own validated data (a message body, a new job), never from incoming baggage,
    so a client cannot tag spans with someone else's job.
    """
    token = otel_context.attach(otel_context.set_value(_JOB_ID_KEY, job_id))
    trace.get_current_span().set_attribute(JOB_ID, job_id)
    with structlog.contextvars.bound_contextvars(job_id=job_id):
        try:
            yield
        finally:
            otel_context.detach(token)


class JobIdSpanProcessor(SpanProcessor):
    """Stamp every span started inside a `job_scope` with the job id, including library-made spans."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        job_id = current_job_id(parent_context) or current_job_id()
        if job_id is not None:
            span.set_attribute(JOB_ID, job_id)

    def on_end(self, span: ReadableSpan) -> None:
        return None
