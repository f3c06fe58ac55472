"""The redaction of `_redact` applied to what the SDK exports: OTLP log records and spans.

Logs: a `LogRecordProcessor` registered before the exporting one. The SDK hands processors a mutable
record, in registration order, so masking it in place is enough; it covers the records of stdlib
loggers (httpx's "HTTP Request: POST <url>") and the `exception.*` attributes the logging handler derives
from `exc_info`. Our structlog lines arrive redacted already (`RedactedLogRecord`) and pass untouched.

Spans: a `SpanExporter` decorator. A span processor sees a `ReadableSpan` only after it ended, when its
attributes can no longer change, and masking where each attribute is set would mean wrapping every
instrumentation (httpx's `url.full` strips user info but keeps `?token=…`; exception events and status
descriptions quote whatever the exception said). So the exporter builds a redacted copy, and only of a
span that actually holds something to mask: the common span costs one regex search per string value,
on the export thread (the batch processor's), never on the request path.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from reelscope_telemetry._redact import fields_are_plain, redact_field, redact_value


def _redacted_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A redacted copy, or None when nothing in `attributes` changes."""
    if not attributes or fields_are_plain(attributes):
        return None
    redacted: dict[str, Any] | None = None
    for key, value in attributes.items():
        new = redact_field(key, value)
        if new is not value and new != value:  # the common value comes back as itself: no copy, no comparison
            if redacted is None:
                redacted = dict(attributes)
            redacted[key] = new
    return redacted


class RedactedLogRecord(LogRecord):
    """A log record whose body and attributes were redacted before it was made (our structlog lines, `_emit`):
    the processor below passes it on untouched instead of checking every field a second time."""


class RedactingLogRecordProcessor(LogRecordProcessor):
    """Masks secrets and escapes control characters in each log record's body and attributes, in place."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        if isinstance(record, RedactedLogRecord):
            return
        if record.body is not None:
            record.body = redact_value(record.body)
        attributes = record.attributes
        redacted = _redacted_attributes(attributes)
        if redacted is not None and attributes is not None:
            for key, value in redacted.items():
                if value != attributes[key]:
                    attributes[key] = value  # type: ignore[index]  # the SDK makes them a mutable BoundedAttributes

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _redacted_span(span: ReadableSpan) -> ReadableSpan:
    attributes = _redacted_attributes(span.attributes)
    events: list[Event] = []
    events_changed = False
    for event in span.events:
        event_attributes = _redacted_attributes(event.attributes)
        events_changed = events_changed or event_attributes is not None
        events.append(Event(event.name, event_attributes, event.timestamp) if event_attributes is not None else event)
    description = span.status.description
    redacted_description = redact_value(description) if description else description
    if attributes is None and not events_changed and redacted_description == description:
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes if attributes is not None else span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, redacted_description),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Exports through `inner` a copy of each span with secrets masked in its attributes, its events'
    attributes (`exception.message`, `exception.stacktrace`) and its status description."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([_redacted_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
