"""A `/metrics` endpoint of our own (`OTEL_METRICS_EXPORTER=prometheus`), for deployments whose Prometheus
scrapes pods instead of receiving metrics from a collector.

Its registry is private to the process's telemetry, not prometheus_client's global one, so a second
`Telemetry` (tests, benchmarks) never collides with the first, and the page shows our instruments only.
Exemplars do not leave through it (the Python exporter drops them): they need the OTLP path.
"""

import os
import threading
from wsgiref.simple_server import WSGIServer

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import CollectorRegistry, start_http_server

# Spec defaults (OpenTelemetry SDK environment variables, Prometheus exporter).
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 9464


class PrometheusEndpoint:
    """A `PrometheusMetricReader` and the HTTP server that answers scrapes of it on host:port."""

    def __init__(self, host: str, port: int) -> None:
        self.registry = CollectorRegistry()
        self.reader = PrometheusMetricReader(registry=self.registry)
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        self.host = host
        self.port = int(self._server.server_port)  # the real one when asked for port 0

    @classmethod
    def from_env(cls) -> "PrometheusEndpoint":
        """Listen where `OTEL_EXPORTER_PROMETHEUS_HOST` / `_PORT` say (localhost:9464 by default)."""
        host = os.environ.get("OTEL_EXPORTER_PROMETHEUS_HOST", DEFAULT_HOST).strip() or DEFAULT_HOST
        port_text = os.environ.get("OTEL_EXPORTER_PROMETHEUS_PORT", str(DEFAULT_PORT)).strip()
        if not port_text.isdigit() or int(port_text) > 65535:
            raise ValueError(f"OTEL_EXPORTER_PROMETHEUS_PORT must be a port number, not {port_text!r}")
        return cls(host, int(port_text))

    def close(self) -> None:
        """Stop answering scrapes and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
