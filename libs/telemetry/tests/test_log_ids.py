"""The OTLP copy of a log line carries its trace and span ids natively, not a second time as attributes."""

import logging

import pytest
from reelscope_telemetry import get_logger
from reelscope_telemetry.testing import capture_telemetry

pytestmark = pytest.mark.unit


def test_otlp_records_carry_ids_natively_and_stdout_lines_as_fields() -> None:
    """Inside a span, our lines and stdlib lines: native ids on the OTLP record, no trace_id/span_id attribute;
    the stdout JSON line still has both fields."""
    with capture_telemetry("ids") as cap:
        with cap.telemetry.tracer.start_as_current_span("work") as span:
            get_logger("ids").info("ours", stage="transcode")
            logging.getLogger("third.party").warning("theirs")
        ctx = span.get_span_context()
        records = [r.log_record for r in cap.log_records()]
        lines = cap.stdout_lines()
    assert len(records) == len(lines) == 2
    for record, line in zip(records, lines, strict=True):
        assert record.trace_id == ctx.trace_id
        assert record.span_id == ctx.span_id
        assert record.attributes is not None
        assert "trace_id" not in record.attributes
        assert "span_id" not in record.attributes
        assert record.attributes["service"] == "ids"
        assert line["trace_id"] == format(ctx.trace_id, "032x")
        assert line["span_id"] == format(ctx.span_id, "016x")
    assert records[0].attributes is not None
    assert records[0].attributes["stage"] == "transcode"


def test_ids_passed_by_hand_are_kept() -> None:
    """A trace id that is not the current span's (a job's original trace, logged elsewhere) stays an attribute."""
    other = "0123456789abcdef0123456789abcdef"
    with capture_telemetry("ids") as cap:
        with cap.telemetry.tracer.start_as_current_span("work"):
            get_logger("ids").info("about another trace", trace_id=other)
        get_logger("ids").info("outside any span", trace_id=other)
        records = [r.log_record for r in cap.log_records()]
    assert [r.attributes["trace_id"] for r in records if r.attributes is not None] == [other, other]
