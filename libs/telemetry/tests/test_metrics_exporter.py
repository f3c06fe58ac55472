"""`OTEL_METRICS_EXPORTER`: OTLP by default, a real `/metrics` endpoint with `prometheus`, nothing with `none`."""

import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from reelscope_telemetry import attributes
from reelscope_telemetry._exporters import metrics_exporter_names
from reelscope_telemetry._setup import exporting_telemetry

pytestmark = pytest.mark.unit

PROMETHEUS_PORT = 19464  # plus REELSCOPE_TEST_PORT_OFFSET (the spec default 9464 is left to real services)


class _Collector(ThreadingHTTPServer):
    """A stand-in OTLP/HTTP collector on 127.0.0.1 that notes the path of every post."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.paths: list[str] = []


class _Recorder(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # the stdlib's parameter name
        return None


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    yield server
    server.shutdown()
    server.server_close()


def _record_and_shut_down(exporter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if exporter:
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", exporter)
    else:
        monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    telemetry = exporting_telemetry("metrics-test", "reelscope-telemetry")
    telemetry.instruments.jobs_finished.add(1, {attributes.JOB_OUTCOME: "succeeded"})
    with telemetry.tracer.start_as_current_span("proves-the-collector-listens"):
        pass
    telemetry.shutdown(timeout_s=10)


def test_default_pushes_metrics_over_otlp(collector: _Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without OTEL_METRICS_EXPORTER, metrics are pushed to the OTLP endpoint (flushed at shutdown)."""
    _record_and_shut_down("", monkeypatch)
    assert "/v1/metrics" in collector.paths
    assert "/v1/traces" in collector.paths


def test_none_exports_no_metrics(collector: _Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_METRICS_EXPORTER=none: no metric leaves the process, while spans still reach the same collector."""
    _record_and_shut_down("none", monkeypatch)
    assert "/v1/traces" in collector.paths
    assert "/v1/metrics" not in collector.paths


def test_prometheus_serves_metrics_page_beside_otlp(collector: _Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """`otlp,prometheus`: a scrape of OTEL_EXPORTER_PROMETHEUS_HOST:PORT shows the instrument in Prometheus form
    while OTLP still pushes it; shutdown frees the port."""
    port = PROMETHEUS_PORT + int(os.environ.get("REELSCOPE_TEST_PORT_OFFSET", "0"))
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp, prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
    telemetry = exporting_telemetry("metrics-test", "reelscope-telemetry")
    try:
        telemetry.instruments.jobs_finished.add(2, {attributes.JOB_OUTCOME: "succeeded"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            page = response.read().decode()
    finally:
        telemetry.shutdown(timeout_s=10)
    line = next(line for line in page.splitlines() if line.startswith("reelscope_jobs_finished_total{"))
    assert 'reelscope_job_outcome="succeeded"' in line
    assert line.endswith(" 2.0")
    assert "/v1/metrics" in collector.paths
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


@pytest.mark.parametrize(
    ("value", "names"),
    [("", ["otlp"]), ("prometheus", ["prometheus"]), ("OTLP, prometheus,otlp", ["otlp", "prometheus"]), ("none", [])],
)
def test_exporter_names_parse_like_the_spec(value: str, names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Comma-separated, case and spaces ignored, duplicates once, `otlp` when unset, `none` for no reader."""
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", value)
    assert metrics_exporter_names() == names


@pytest.mark.parametrize("value", ["prometheus,stdout", "none,otlp"])
def test_unknown_or_contradictory_exporters_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo or `none` beside another exporter fails at start-up instead of silently dropping metrics."""
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", value)
    with pytest.raises(ValueError, match="OTEL_METRICS_EXPORTER"):
        metrics_exporter_names()
