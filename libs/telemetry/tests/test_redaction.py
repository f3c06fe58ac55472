"""Secrets masked and control characters escaped in every signal a process writes: stdout lines, OTLP
log records and exported spans; the patterns are the collector's, item by item."""

import io
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from reelscope_telemetry import get_logger
from reelscope_telemetry._logging import configure_logging
from reelscope_telemetry._redact import (
    BLOCKED_KEY_REGEX,
    SECRET_PATTERNS,
    escape_control,
    fields_are_plain,
    mask_secrets,
    redact_secrets,
    redact_value,
    suspect,
)
from reelscope_telemetry._redact_export import RedactingSpanExporter
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry

pytestmark = pytest.mark.unit

COLLECTOR_CONFIG = Path(__file__).resolve().parents[3] / "otel-collector" / "config.yaml"

# (text holding a secret, the secret, what the text must become): one case per collector pattern, in order.
CASES = [
    ("Authorization: Bearer abc.DEF-123_x/y+z==", "abc.DEF-123_x/y+z", "Authorization: Bearer ****"),
    ("auth Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ=", "dXNlcjpzM2NyZXQtcGFzc3dvcmQ", "auth Basic ****"),
    ("key rsk_a1b2c3d4e5f6_AbCdEfGhIjKlMnOpQrStUv-_x used", "AbCdEfGhIjKlMnOpQrStUv", "key rsk_a1b2c3d4e5f6_**** used"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJl end", "c2lnbmF0dXJl", "jwt **** end"),
    ("POST https://hook:Pa55-w0rd@example.org/x", "Pa55-w0rd", "POST https://hook:****@example.org/x"),
    ("GET /cb?token=t0k3n-value&page=2", "t0k3n-value", "GET /cb?token=****&page=2"),
    ("sig t=1700000000,v1=" + "0123456789abcdef" * 4, "0123456789abcdef" * 4, "sig t=1700000000,v1=****"),
    ("secret whsec_" + "9f" * 32 + " shown", "9f" * 32, "secret whsec_**** shown"),
    (
        "slack https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX failed",
        "XXXXsecretXXXX",
        "slack https://hooks.slack.com/services/**** failed",
    ),
    ("mail alice.smith+tv@mail.example.com today", "alice.smith+tv", "mail **** today"),
]

HARMLESS = [
    "job 3f2c0d1e-6a7b-4c8d-9e0f-1a2b3c4d5e6f finished in 12:30 minutes",
    "GET http://127.0.0.1:8080/v1/jobs?page=2&limit=10",
    "POST https://hooks.example.org/deliver",
    "wrote media/abc/720p.mp4 (1048576 bytes), rsk_short, key rsk_a1b2c3d4e5f6 (its visible prefix)",
    "token count 12; password policy ok",
]


def test_library_patterns_are_the_collectors_item_by_item() -> None:
    """The library's value and key patterns equal otel-collector/config.yaml's `redaction` lists, in order."""
    redaction = yaml.safe_load(COLLECTOR_CONFIG.read_text())["processors"]["redaction"]
    assert [p.collector_regex for p in SECRET_PATTERNS] == redaction["blocked_values"]
    assert redaction["blocked_key_patterns"] == [BLOCKED_KEY_REGEX]
    assert len(CASES) == len(SECRET_PATTERNS)


@pytest.mark.parametrize(("text", "secret", "masked"), CASES, ids=[p.name for p in SECRET_PATTERNS])
def test_each_pattern_is_masked_keeping_its_context(text: str, secret: str, masked: str) -> None:
    """Each kind of secret is replaced by `****`, the words around it kept, and masking twice changes nothing."""
    assert mask_secrets(text) == masked
    assert secret not in mask_secrets(text)
    assert mask_secrets(masked) == masked


@pytest.mark.parametrize(("text", "secret", "masked"), CASES, ids=[p.name for p in SECRET_PATTERNS])
def test_each_collector_pattern_finds_the_secret_it_stands_for(text: str, secret: str, masked: str) -> None:
    """The matching collector pattern (as Go would apply it) covers the secret: the cases test the real lists."""
    index = CASES.index((text, secret, masked))
    match = SECRET_PATTERNS[index].compiled.search(text)
    assert match is not None
    assert secret in match.group(0)


@pytest.mark.parametrize("text", HARMLESS)
def test_text_without_secrets_is_untouched(text: str) -> None:
    """Ids, times, plain URLs, paths and words like 'token' or 'password' alone are left as they were."""
    assert mask_secrets(text) == text
    assert redact_value(text) == text


def _otlp_attributes(cap: CapturedTelemetry) -> dict[str, Any]:
    (record,) = cap.log_records()
    return dict(record.log_record.attributes or {}) | {"body": record.log_record.body}


def test_log_fields_are_masked_in_stdout_and_otlp() -> None:
    """Every case logged as a field value and in the message is masked in the JSON line and the OTLP record."""
    for text, secret, masked in CASES:
        with capture_telemetry() as cap:
            get_logger("t").info(f"saw {text}", detail=text)
            (line,) = cap.stdout_lines()
            otlp = _otlp_attributes(cap)
        assert line["detail"] == masked
        assert otlp["detail"] == masked
        assert line["event"] == otlp["body"] == f"saw {masked}"
        assert secret not in repr(line) + repr(otlp)


def test_credential_keys_are_masked_whole_at_any_depth() -> None:
    """Values under keys naming credentials are masked in nested dicts and lists; other keys keep their values."""
    headers = {
        "Authorization": "whatever-opaque",
        "X-Api-Key": "opaque-key",
        "nested": [{"Password": "hunter2"}, {"Cookie": "sid=abc"}, {"size": 3}],
    }
    assert redact_value(headers) == {
        "Authorization": "****",
        "X-Api-Key": "****",
        "nested": [{"Password": "****"}, {"Cookie": "****"}, {"size": 3}],
    }
    with capture_telemetry() as cap:
        get_logger("t").info("request", headers=headers, client_secret="opaque", size=5)
        (line,) = cap.stdout_lines()
        otlp = _otlp_attributes(cap)
    for signal in (line, otlp):
        assert signal["client_secret"] == "****"
        assert signal["size"] == 5
        for value in ("whatever-opaque", "opaque-key", "hunter2", "sid=abc"):
            assert value not in str(signal["headers"])
        assert "'size': 3" in str(signal["headers"])


def test_stdlib_logger_records_are_masked_in_stdout_and_otlp() -> None:
    """A third-party stdlib logger (httpx logs request URLs) is masked too: message, args and extra fields."""
    with capture_telemetry() as cap:
        logging.getLogger("httpx").warning(
            "HTTP Request: %s %s", "POST", "http://hook:Pa55-w0rd@127.0.0.1/h?token=t0k3n", extra={"api_key": "k"}
        )
        (line,) = cap.stdout_lines()
        otlp = _otlp_attributes(cap)
    expected = "HTTP Request: POST http://hook:****@127.0.0.1/h?token=****"
    assert line["event"] == otlp["body"] == expected
    assert line["api_key"] == otlp["api_key"] == "****"


def test_exception_texts_in_logs_are_masked() -> None:
    """A logged exception quoting a URL with a password shows neither in stdout nor in OTLP exception attributes."""
    with capture_telemetry() as cap:
        try:
            raise ConnectionError("cannot reach https://u:Pa55-w0rd@example.org?sig=abcdef")
        except ConnectionError:
            get_logger("t").exception("delivery failed")
        (line,) = cap.stdout_lines()
        otlp = _otlp_attributes(cap)
    assert line["exception"][0]["exc_value"] == "cannot reach https://u:****@example.org?sig=****"
    assert otlp["exception.message"] == "cannot reach https://u:****@example.org?sig=****"
    assert "Pa55-w0rd" not in str(line) + str(otlp)
    assert "abcdef" not in str(otlp["exception.stacktrace"])
    assert "\n" in str(otlp["exception.stacktrace"])  # a traceback keeps its lines


def test_cr_lf_in_user_input_cannot_forge_a_json_log_line() -> None:
    """CR, LF and other control characters in a field and in the message are escaped: one line, visible escapes."""
    filename = 'clip.mp4\n{"level": "error", "event": "forged"}\r\x1b[31m\u2028'
    with capture_telemetry() as cap:
        get_logger("t").info(f"upload {filename}", original_filename=filename)
        raw = cap.stdout.getvalue()
        (line,) = cap.stdout_lines()
        otlp = _otlp_attributes(cap)
    assert raw.count("\n") == 1
    escaped = 'clip.mp4\\n{"level": "error", "event": "forged"}\\r\\x1b[31m\\u2028'
    assert line["original_filename"] == otlp["original_filename"] == escaped
    assert otlp["body"] == f"upload {escaped}"


def test_cr_lf_cannot_forge_a_console_log_line() -> None:
    """The console renderer prints the message raw (it repr()s only field values): a newline in it is escaped."""
    stream = io.StringIO()
    configure_logging("console-test", None, log_format="console", stream=stream)
    get_logger("t").info("upload\nFORGED line", original_filename="a.mp4\rlevel=error forged")
    logging.getLogger("uvicorn.error").warning("bad path /x\n2026-01-01 [error] forged")
    out = stream.getvalue()
    assert out.count("\n") == 2, out
    assert "upload\\nFORGED line" in out
    assert "bad path /x\\n2026-01-01 [error] forged" in out


def test_span_attributes_events_and_status_are_masked() -> None:
    """url.full with a token, an exception event and an error status quoting secrets are masked on export."""
    with capture_telemetry() as cap:
        with cap.telemetry.tracer.start_as_current_span("webhook.deliver", record_exception=False) as span:
            span.set_attribute("url.full", "https://127.0.0.1/hook?token=t0k3n-value&x=1")
            span.set_attribute("http.request.header.authorization", ("Bearer abcdef",))
            span.set_attribute("reelscope.filename", "a\nb.mp4")
            span.record_exception(ValueError("POST https://hook:Pa55-w0rd@example.org failed"))
            span.set_status(Status(StatusCode.ERROR, "webhook https://hook:Pa55-w0rd@example.org said 500"))
        (exported,) = cap.spans()
    assert exported.attributes is not None
    assert exported.attributes["url.full"] == "https://127.0.0.1/hook?token=****&x=1"
    assert exported.attributes["http.request.header.authorization"] == "****"
    assert exported.attributes["reelscope.filename"] == "a\\nb.mp4"
    (event,) = exported.events
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "POST https://hook:****@example.org failed"
    assert "Pa55-w0rd" not in str(event.attributes["exception.stacktrace"])
    assert exported.status.status_code is StatusCode.ERROR
    assert exported.status.description == "webhook https://hook:****@example.org said 500"
    assert exported.context == span.get_span_context()


def test_spans_without_secrets_are_exported_as_they_are() -> None:
    """A span with nothing to mask is passed on as the same object, not copied (the cheap common path)."""
    clean = ReadableSpan("ffmpeg.transcode", attributes={"reelscope.rendition": "720p"}, events=[Event("e", {"n": 1})])
    dirty = ReadableSpan("webhook.deliver", attributes={"url.full": "https://h/x?sig=abc"})
    inner = InMemorySpanExporter()
    RedactingSpanExporter(inner).export([clean, dirty])
    exported_clean, exported_dirty = inner.get_finished_spans()
    assert exported_clean is clean
    assert exported_dirty is not dirty
    assert exported_dirty.attributes == {"url.full": "https://h/x?sig=****"}


class _Url:
    """Stands for an object (httpx.URL, a settings model) whose text holds a secret only once stringified."""

    def __str__(self) -> str:
        return "amqp://guest:Pa55-w0rd@broker:5672/"


def test_objects_stringified_after_the_first_pass_are_masked_too() -> None:
    """A non-string field value whose str() holds a secret is masked in the JSON line and in the OTLP record."""
    with capture_telemetry() as cap:
        get_logger("t").info("connecting", broker=_Url())
        (line,) = cap.stdout_lines()
        otlp = _otlp_attributes(cap)
    assert line["broker"] == otlp["broker"] == "amqp://guest:****@broker:5672/"


@pytest.mark.parametrize(("text", "secret", "masked"), CASES, ids=[p.name for p in SECRET_PATTERNS])
def test_every_match_of_every_pattern_trips_the_fast_path_guard(text: str, secret: str, masked: str) -> None:
    """Whatever any collector pattern matches, alone, trips the one-search guard, so full masking runs on it."""
    matches = [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.compiled.finditer(text)]
    assert matches
    assert all(suspect(match) for match in matches)
    assert redact_value(text) == masked


@pytest.mark.parametrize("code", [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029])
def test_every_control_character_trips_the_fast_path_guard(code: int) -> None:
    """Every character `escape_control` rewrites trips the guard, so no raw CR/LF/ESC reaches a log line."""
    text = f"name{chr(code)}x"
    assert redact_value(text) == escape_control(text) != text


@pytest.mark.parametrize("text", ["transcode", "renditions/720p.mp4", "3f0c2a9e-5b1d-4c6e-9a7f-1d2e3c4b5a69", "café"])
def test_common_values_come_back_as_the_same_object(text: str) -> None:
    """A value with nothing to mask or escape is returned as is, no copy: what makes the common log line cheap."""
    assert redact_value(text) is text


@pytest.mark.parametrize(("text", "secret", "masked"), CASES, ids=[p.name for p in SECRET_PATTERNS])
def test_a_secret_in_any_field_sends_the_whole_line_down_the_full_path(text: str, secret: str, masked: str) -> None:
    """One field holding a secret among plain ones: the line is not plain, and that field comes out masked."""
    fields = {"event": "calling back", "stage": "notification", "attempt": 2, "detail": text, "ok": None}
    assert not fields_are_plain(fields)
    assert redact_secrets(None, "info", dict(fields))["detail"] == masked


@pytest.mark.parametrize(
    "fields",
    [
        {"event": "saved", "api_key": "plainlooking"},  # credential-named key
        {"event": "saved", "extra": {"note": "x"}},  # nested: the full path walks it
        {"event": "saved", "files": ["a", "b"]},
        {"event": "line\nbreak"},  # a control character
    ],
)
def test_keys_nesting_and_control_characters_are_not_plain(fields: dict[str, Any]) -> None:
    """The cheap check never calls a line plain when a key, a container or a control character needs work."""
    assert not fields_are_plain(fields)


def test_plain_fields_are_plain_and_left_alone() -> None:
    """A typical job line (strings, numbers, None) is plain, and the processor returns it unchanged."""
    fields = {"event": "rendition written", "stage": "transcode", "duration_s": 12.75, "n": 3, "ok": True, "x": None}
    assert fields_are_plain(fields)
    assert redact_secrets(None, "info", dict(fields)) == fields
