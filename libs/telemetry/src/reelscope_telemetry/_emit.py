"""The last processor of our structlog chain: one stdout line and one OTLP record per event, then `DropEvent`.

Our lines used to leave structlog as a stdlib `LogRecord`, which the stdout handler's `ProcessorFormatter` and
OpenTelemetry's `LoggingHandler` each took apart again (copying the record, re-adding the fields, redacting them
once more). Here the event dict arrives merged and redacted, and both outputs are made from it directly, with the
fields, level names, severities and `exception.*` attributes those two handlers gave them.
"""

import logging
import sys
import time
import traceback
from types import TracebackType
from typing import Any, cast

import structlog
from opentelemetry import trace
from opentelemetry._logs import Logger, NoOpLogger
from opentelemetry.context import get_current
from opentelemetry.instrumentation.log_utils import std_to_otel
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.semconv.attributes import exception_attributes, otel_attributes
from structlog.typing import EventDict, Processor, WrappedLogger

from reelscope_telemetry._redact import redact_field
from reelscope_telemetry._redact_export import RedactedLogRecord

ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]

_LEVEL_NUMBER = logging.getLevelNamesMapping()
# OTLP severity text as OpenTelemetry's LoggingHandler spells Python's level names.
_SEVERITY_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_DEPRECATED_EVENT_NAME = "event.name"


def exc_info_tuple(value: Any) -> ExcInfo | None:
    """What stdlib `logging` makes of an `exc_info` argument: an exception, True (the one being handled), a tuple."""
    if not value:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple):
        return value  # the caller's (type, value, traceback), as stdlib takes it
    return sys.exc_info()


def _exception_attributes(exc_info: ExcInfo) -> dict[str, Any]:
    """`exception.type`, `.message` and `.stacktrace` as OpenTelemetry's LoggingHandler derives them, redacted."""
    exc_type, value, tb = exc_info
    attributes: dict[str, Any] = {}
    if exc_type is not None:
        attributes[exception_attributes.EXCEPTION_TYPE] = exc_type.__name__
    if value is not None and value.args:
        attributes[exception_attributes.EXCEPTION_MESSAGE] = str(value.args[0])
    if tb is not None:
        attributes[exception_attributes.EXCEPTION_STACKTRACE] = "".join(traceback.format_exception(*exc_info))
    return {key: redact_field(key, value) for key, value in attributes.items()}


class Emitter:
    """Renders an event dict to the stdout handler's stream and emits it through the LoggerProvider."""

    def __init__(
        self,
        stdout: logging.StreamHandler,  # type: ignore[type-arg]  # any stream
        renderer: Processor,
        exception_renderer: Processor,
        logger_provider: LoggerProvider | None,
    ) -> None:
        self._stdout = stdout
        self._renderer = renderer
        self._exception_renderer = exception_renderer
        self._timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
        self._provider = logger_provider
        self._loggers: dict[str, Logger | None] = {}

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        name: str = getattr(logger, "name", "")
        exc_info = exc_info_tuple(event_dict.pop("exc_info", None))
        event = event_dict.pop("event", None)
        body = event if isinstance(event, str) else str(event)
        timestamp = time.time_ns()
        try:
            self._write_stdout(name, method_name, body, event_dict, exc_info)
        except Exception:  # a log call never raises into the caller; say so on stderr, as stdlib handlers do
            if logging.raiseExceptions:
                traceback.print_exc(file=sys.stderr)
        if self._provider is not None:
            self._emit_otlp(name, method_name, body, event_dict, exc_info, timestamp)
        raise structlog.DropEvent

    def _write_stdout(
        self, name: str, method_name: str, body: str, fields: EventDict, exc_info: ExcInfo | None
    ) -> None:
        """The line the stdout handler's ProcessorFormatter rendered: event, fields, level, logger, timestamp,
        then the exception (its text redacted: it may quote a URL with a password)."""
        line = self._timestamper(None, method_name, {"event": body, **fields, "level": method_name, "logger": name})
        if exc_info is not None:
            line["exc_info"] = exc_info
            line = cast(EventDict, self._exception_renderer(None, method_name, line))
            if "exception" in line:
                line["exception"] = redact_field("exception", line["exception"])
        text = cast(str, self._renderer(None, method_name, line))
        handler = self._stdout
        handler.acquire()
        try:
            handler.stream.write(f"{text}\n")
            handler.stream.flush()
        finally:
            handler.release()

    def _otel_logger(self, name: str) -> Logger | None:
        otel_logger = self._loggers.get(name)
        if otel_logger is None and name not in self._loggers and self._provider is not None:
            otel_logger = self._provider.get_logger(name, "")
            self._loggers[name] = None if isinstance(otel_logger, NoOpLogger) else otel_logger
        return otel_logger

    def _emit_otlp(
        self, name: str, method_name: str, body: str, fields: EventDict, exc_info: ExcInfo | None, timestamp: int
    ) -> None:
        """The record OpenTelemetry's LoggingHandler made of our stdlib record: every field an attribute, except
        trace and span ids that are the record's own (it carries them natively) and the event name."""
        otel_logger = self._otel_logger(name)
        if otel_logger is None:
            return
        attributes = dict(fields)
        event_name = attributes.pop(otel_attributes.OTEL_EVENT_NAME, None)
        deprecated_event_name = attributes.pop(_DEPRECATED_EVENT_NAME, None)
        if "trace_id" in attributes:
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid and attributes["trace_id"] == format(ctx.trace_id, "032x"):
                del attributes["trace_id"]
                if attributes.get("span_id") == format(ctx.span_id, "016x"):
                    del attributes["span_id"]
        if exc_info is not None:
            attributes.update(_exception_attributes(exc_info))
        level_name = method_name.upper()
        otel_logger.emit(
            RedactedLogRecord(
                timestamp=timestamp,
                observed_timestamp=time.time_ns(),
                context=get_current(),
                severity_text=_SEVERITY_TEXT.get(level_name, level_name),
                severity_number=std_to_otel(_LEVEL_NUMBER.get(level_name, logging.NOTSET)),
                body=body,
                attributes=attributes,
                event_name=event_name if event_name is not None else deprecated_event_name,
            )
        )
