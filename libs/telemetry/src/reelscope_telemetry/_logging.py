"""structlog, configured once: JSON lines (or a console view) on stdout and the same records over OTLP.

Shape: our structlog loggers filter by level, merge the context, redact every field once and end in `_emit.Emitter`,
which writes the stdout line and emits the OTLP record through the LoggerProvider itself (attributes from the
fields, the current trace and span ids natively); they never go through stdlib `logging`.
Third-party stdlib loggers (uvicorn, aio-pika, httpx) flow through two handlers on the root logger: a stdout handler
rendering through `ProcessorFormatter`, and OpenTelemetry's `LoggingHandler`; their fields match ours.
"""

import logging
import os
import sys
from typing import Any, Literal

import structlog
from opentelemetry import trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

from reelscope_telemetry._emit import Emitter
from reelscope_telemetry._redact import redact_field, redact_secrets

LogFormat = Literal["json", "console"]

# Keys that are attributes of `logging.LogRecord`: passing them as `extra` raises KeyError.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Our lines keep the names they had when they were stdlib records (`filename` → `filename_`), so queries on the
# stored logs still find them; `exc_info` is no field but the exception to render.
_RENAMED = _RESERVED - {"exc_info"}


def _add_trace_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add `trace_id` and `span_id` (hex, as Tempo and Loki show them) when a span is recording."""
    if "trace_id" in event_dict:
        return event_dict
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict


def _service_adder(service_name: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service_name)
        return event_dict

    return add_service


def _rename_reserved(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Rename keys that clash with LogRecord fields (`name` → `name_`), as when our lines were stdlib records."""
    for key in [k for k in event_dict if k in _RENAMED]:
        event_dict[f"{key}_"] = event_dict.pop(key)
    return event_dict


# Built once: a `str | int | ...` written inside the loop is a new union object for every field of every line.
_KEPT_TYPES = (str, int, float, type(None), list, tuple)  # bool is an int


def _stringify_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """OTLP attributes take primitives only: turn UUIDs, paths and datetimes into strings up front (after
    `redact_secrets` masked credential keys in dicts; the text is redacted in turn, it may hold a URL's password)."""
    for key, value in event_dict.items():
        if key != "exc_info" and not isinstance(value, _KEPT_TYPES):
            event_dict[key] = redact_field(key, str(value))
    return event_dict


class _ContextFilter(logging.Filter):
    """Give records from plain stdlib loggers (httpx, uvicorn, aio-pika) the same fields as ours:
    the bound `job_id` and the like, the trace ids and the service, so the OTLP copy carries them too."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self._service_name = service_name

    def filter(self, record: logging.LogRecord) -> bool:
        fields = vars(record)
        for key, value in structlog.contextvars.get_contextvars().items():
            if key not in _RESERVED:
                fields.setdefault(key, value)
        fields.setdefault("service", self._service_name)
        if "trace_id" not in fields:
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid:
                fields["trace_id"] = format(ctx.trace_id, "032x")
                fields["span_id"] = format(ctx.span_id, "016x")
        return True


class _OtlpHandler(LoggingHandler):
    """OpenTelemetry's handler, minus the `trace_id`/`span_id` fields when they are the record's own ids: an OTLP
    log record carries those natively (Loki shows them as its `trace_id`/`span_id` metadata), so the two strings
    would only be encoded, redacted and shipped twice per line. Ids that differ (passed by hand) stay."""

    def _get_attributes(self, record: logging.LogRecord) -> tuple[dict[str, Any], str | None]:
        attributes, event_name = super()._get_attributes(record)
        trace_id = attributes.get("trace_id")
        if trace_id is not None:
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid and trace_id == format(ctx.trace_id, "032x"):
                del attributes["trace_id"]
                if attributes.get("span_id") == format(ctx.span_id, "016x"):
                    del attributes["span_id"]
        return attributes, event_name


def log_format_from_env() -> LogFormat:
    """`REELSCOPE_LOG_FORMAT=console` for humans at a terminal; JSON otherwise."""
    return "console" if os.environ.get("REELSCOPE_LOG_FORMAT", "json").lower() == "console" else "json"


def configure_logging(
    service_name: str,
    logger_provider: LoggerProvider | None,
    *,
    level: str | None = None,
    log_format: LogFormat | None = None,
    stream: Any = None,
) -> None:
    """Configure structlog and the root logger once per process (calling again replaces the handlers)."""
    root = logging.getLogger()
    root.setLevel((level or os.environ.get("REELSCOPE_LOG_LEVEL", "INFO")).upper())  # refuses unknown names
    console = (log_format or log_format_from_env()) == "console"
    renderer: Processor = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    # Frames without their local variables: locals hold settings (broker URLs with passwords), request bodies and
    # tokens, and would make every traceback kilobytes long. The console renderer prints a traceback's text.
    exception_renderer: Processor = (
        structlog.processors.format_exc_info
        if console
        else structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    )
    stdout_handler = logging.StreamHandler(stream or sys.stdout)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_trace_context,
            _service_adder(service_name),
            _rename_reserved,
            redact_secrets,  # once, before dicts become strings: the stdout line and the OTLP record get it clean
            _stringify_ids,
            Emitter(stdout_handler, renderer, exception_renderer, logger_provider),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(root.level),
        cache_logger_on_first_use=False,
    )
    stdout_handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.ExtraAdder(),
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                _add_trace_context,
                _service_adder(service_name),
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                exception_renderer,
                # Stdlib loggers' records (httpx logs request URLs) and the rendered exception; their OTLP copies
                # are masked by RedactingLogRecordProcessor.
                redact_secrets,
                renderer,
            ],
        )
    )
    for handler in list(root.handlers):
        root.removeHandler(handler)
    context_filter = _ContextFilter(service_name)
    stdout_handler.addFilter(context_filter)
    root.addHandler(stdout_handler)
    if logger_provider is not None:
        otlp_handler = _OtlpHandler(logger_provider=logger_provider)
        otlp_handler.addFilter(context_filter)
        root.addHandler(otlp_handler)
    # Our own exporters log at WARNING when the collector is away; keep that, drop their chatter.
    for noisy in ("aiormq", "aio_pika", "uvicorn.access", "opentelemetry.exporter"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
