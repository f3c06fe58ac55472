"""A stand-in collector for in-process benchmarks: answers every OTLP/HTTP post with 200 and counts what arrived.

It runs in its own process (`OtlpSink` starts it), as a collector would, so receiving and decoding batches does
not compete with the measured code for the interpreter lock; the exporting side (protobuf encoding, the HTTP
post on the batch processor's thread) stays in the measured process, where it belongs.
GET /counts answers {"logs": n, "spans": n, "metric_points": n}: what the benchmark exported, to compare with
what it emitted (a full queue drops records silently, and a figure without those would flatter us).
"""

import gzip
import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_COUNTS = {"logs": 0, "spans": 0, "metric_points": 0}


def _count(path: str, body: bytes) -> None:
    if path.endswith("/v1/logs"):
        logs = ExportLogsServiceRequest.FromString(body)
        _COUNTS["logs"] += sum(len(s.log_records) for r in logs.resource_logs for s in r.scope_logs)
    elif path.endswith("/v1/traces"):
        traces = ExportTraceServiceRequest.FromString(body)
        _COUNTS["spans"] += sum(len(s.spans) for r in traces.resource_spans for s in r.scope_spans)
    elif path.endswith("/v1/metrics"):
        request = ExportMetricsServiceRequest.FromString(body)
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    _COUNTS["metric_points"] += len(getattr(metric, kind).data_points) if kind else 0


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        _count(self.path, body)
        self._answer(b"", "application/x-protobuf")

    def do_GET(self) -> None:
        self._answer(json.dumps(_COUNTS).encode(), "application/json")

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # the stdlib's parameter name
        return None


def serve() -> None:
    """Listen on a free port of 127.0.0.1, print it on one line, serve until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class OtlpSink:
    """`with OtlpSink() as sink:` a sink process on `sink.endpoint`, stopped (by its own pid) at the end."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(  # our own module, run by our own interpreter
            [sys.executable, "-m", "reelscope_bench.otlp_sink"], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().strip()
        if not port.isdigit():
            self.close()
            raise RuntimeError("the OTLP sink did not start")
        self.endpoint = f"http://127.0.0.1:{port}"

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = httpx.get(f"{self.endpoint}/counts", timeout=5).json()
        return counts

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    serve()
