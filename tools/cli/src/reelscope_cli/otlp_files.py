"""Read what the local collector's file exporter wrote (OTLP JSON, one export batch per line)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPAN_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _value(value: dict[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    return None


def _attributes(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items or []}


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    start_ns: int
    end_ns: int
    status: str
    status_message: str
    attributes: dict[str, Any]
    events: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True)
class LogRecord:
    time_ns: int
    service: str
    severity: str
    body: Any
    trace_id: str
    span_id: str
    attributes: dict[str, Any]


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line still being written


def read_spans(path: Path) -> list[SpanRecord]:
    spans = []
    for batch in _lines(path):
        for resource_spans in batch.get("resourceSpans", []):
            service = _attributes(resource_spans.get("resource", {}).get("attributes")).get("service.name", "?")
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    status = span.get("status", {})
                    spans.append(
                        SpanRecord(
                            trace_id=span.get("traceId", ""),
                            span_id=span.get("spanId", ""),
                            parent_span_id=span.get("parentSpanId", ""),
                            name=span.get("name", ""),
                            kind=SPAN_KINDS.get(int(span.get("kind", 0)), "?"),
                            service=str(service),
                            start_ns=int(span.get("startTimeUnixNano", 0)),
                            end_ns=int(span.get("endTimeUnixNano", 0)),
                            status=STATUS_CODES.get(int(status.get("code", 0)), "?"),
                            status_message=status.get("message", ""),
                            attributes=_attributes(span.get("attributes")),
                            events=tuple(event.get("name", "") for event in span.get("events", [])),
                        )
                    )
    return spans


def read_logs(path: Path) -> list[LogRecord]:
    logs = []
    for batch in _lines(path):
        for resource_logs in batch.get("resourceLogs", []):
            service = _attributes(resource_logs.get("resource", {}).get("attributes")).get("service.name", "?")
            for scope_logs in resource_logs.get("scopeLogs", []):
                for record in scope_logs.get("logRecords", []):
                    logs.append(
                        LogRecord(
                            time_ns=int(record.get("timeUnixNano", 0)),
                            service=str(service),
                            severity=record.get("severityText", ""),
                            body=_value(record.get("body", {})),
                            trace_id=record.get("traceId", ""),
                            span_id=record.get("spanId", ""),
                            attributes=_attributes(record.get("attributes")),
                        )
                    )
    return logs


def trace_tree(spans: list[SpanRecord]) -> list[tuple[int, SpanRecord]]:
    """Spans of one trace in tree order, each with its depth (orphans shown at depth 0)."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[SpanRecord]] = {}
    roots = []
    for span in spans:
        if span.parent_span_id and span.parent_span_id in by_id:
            children.setdefault(span.parent_span_id, []).append(span)
        else:
            roots.append(span)
    ordered: list[tuple[int, SpanRecord]] = []

    def walk(span: SpanRecord, depth: int) -> None:
        ordered.append((depth, span))
        for child in sorted(children.get(span.span_id, []), key=lambda s: s.start_ns):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda s: s.start_ns):
        walk(root, 0)
    return ordered


def format_tree(spans: list[SpanRecord]) -> str:
    """An indented tree: service, span name, duration, status."""
    lines = []
    for depth, span in trace_tree(spans):
        status = span.status + (f": {span.status_message}" if span.status_message else "")
        label = f"{'  ' * depth}{span.service:<13} {span.name}"
        lines.append(f"{label:<90} {span.duration_s * 1000:>10.1f} ms  {status}")
    return "\n".join(lines)
