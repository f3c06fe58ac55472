"""Our structlog lines, emitted without stdlib logging: level filtering, exceptions, severities, console view."""

import io
import logging

import pytest
from reelscope_telemetry import get_logger
from reelscope_telemetry._logging import configure_logging
from reelscope_telemetry.testing import capture_telemetry

pytestmark = pytest.mark.unit


def test_level_filter_applies_to_our_lines_in_both_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """REELSCOPE_LOG_LEVEL=WARNING drops our info lines from stdout and OTLP; warnings pass with their severity."""
    monkeypatch.setenv("REELSCOPE_LOG_LEVEL", "WARNING")
    with capture_telemetry("levels") as cap:
        log = get_logger("levels")
        log.info("dropped")
        log.warning("kept", n=1)
        log.critical("fatal one")
        lines = cap.stdout_lines()
        records = [r.log_record for r in cap.log_records()]
    assert [(line["event"], line["level"]) for line in lines] == [("kept", "warning"), ("fatal one", "critical")]
    assert [(r.body, r.severity_text, r.severity_number and r.severity_number.value) for r in records] == [
        ("kept", "WARN", 13),
        ("fatal one", "FATAL", 21),
    ]


def test_exc_info_on_any_level_renders_the_exception_in_both_outputs() -> None:
    """`exc_info=True` or an exception object on a warning/error line gives the traceback on stdout and the
    `exception.*` attributes on the OTLP record, like `log.exception`; `exc_info` itself is no field."""
    log = get_logger("exc")
    with capture_telemetry() as cap:
        try:
            raise TimeoutError("upstream https://u:Pa55-w0rd@host slow")
        except TimeoutError as exc:
            log.warning("retrying", exc_info=True)
            error = exc
        log.error("gave up", exc_info=error)
        log.exception("outside any handler, nothing to show")
        lines = cap.stdout_lines()
        records = [r.log_record for r in cap.log_records()]
    for line, record in zip(lines[:2], records[:2], strict=True):
        assert line["exception"][0]["exc_type"] == "TimeoutError"
        assert line["exception"][0]["exc_value"] == "upstream https://u:****@host slow"
        assert "exc_info" not in line
        assert "exc_info_" not in line
        assert record.attributes is not None
        assert record.attributes["exception.type"] == "TimeoutError"
        assert record.attributes["exception.message"] == "upstream https://u:****@host slow"
        assert "Pa55-w0rd" not in str(record.attributes["exception.stacktrace"])
        assert "exc_info_" not in record.attributes
    assert lines[2]["event"] == "outside any handler, nothing to show"
    assert records[2].attributes is not None
    assert "exception.type" not in records[2].attributes


def test_our_records_carry_the_logger_name_as_scope_and_skip_stdlib() -> None:
    """The OTLP record's instrumentation scope is the logger's name (as OpenTelemetry's handler made it); a handler
    added to the root logger by someone else sees the stdlib lines only, never ours."""
    seen: list[str] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    with capture_telemetry() as cap:
        logging.getLogger().addHandler(Spy())
        get_logger("reelscope_x.worker").info("ours")
        logging.getLogger("third.party").warning("theirs")
        scopes = [r.instrumentation_scope.name for r in cap.log_records() if r.instrumentation_scope]
    assert scopes == ["reelscope_x.worker", "third.party"]
    assert seen == ["theirs"]


def test_console_view_shows_a_logged_traceback() -> None:
    """REELSCOPE_LOG_FORMAT=console prints a logged exception's traceback text under its line (ours and stdlib's)."""
    stream = io.StringIO()
    configure_logging("console-exc", None, log_format="console", stream=stream)
    try:
        raise KeyError("missing")
    except KeyError:
        get_logger("t").exception("lookup failed")
        logging.getLogger("third.party").exception("theirs failed")
    out = stream.getvalue()
    assert out.count("Traceback (most recent call last):") == 2
    assert "lookup failed" in out
    assert "KeyError: 'missing'" in out
