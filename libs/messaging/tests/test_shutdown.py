"""Graceful shutdown of a worker process (real subprocess, real RabbitMQ): on SIGTERM readiness turns 503 first,
no new message is taken, in-flight work finishes within the grace period (or is cancelled and returned to its
queue), telemetry is flushed and the process exits 0."""

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from reelscope_contracts import JobCompleted, QueueSpec, RoutingKey
from reelscope_messaging import Broker
from reelscope_messaging.broker import retry_queue_name
from reelscope_messaging.testing import collect_events, private_queue, submission

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("shutdown_worker.py")
START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OtlpReceiver:
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps the span names it is sent."""

    def __init__(self) -> None:
        self.span_names: list[str] = []
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest.FromString(body)
                    for resource in request.resource_spans:
                        for scope in resource.scope_spans:
                            receiver.span_names.extend(span.name for span in scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A running OTLP receiver, stopped afterwards."""
    receiver = OtlpReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join(timeout=5)


@dataclass
class WorkerProcess:
    """A running `shutdown_worker.py`: its process, health URL, journal of handler steps and JSON log lines."""

    process: subprocess.Popen[bytes]
    health_url: str
    journal: Path
    log: Path

    def steps(self) -> list[str]:
        return self.journal.read_text().splitlines() if self.journal.exists() else []

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return events

    def logged(self, event: str) -> dict[str, Any]:
        matches = [entry for entry in self.log_events() if entry.get("event") == event]
        assert len(matches) == 1, f"expected one {event!r} log line; log:\n{self.log.read_text()[-3000:]}"
        return matches[0]

    async def readyz(self) -> httpx.Response | None:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return await client.get(f"{self.health_url}/readyz")
        except httpx.TransportError:
            return None

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"worker exited at start-up:\n{self.log.read_text()[-3000:]}"
            response = await self.readyz()
            if response is not None and response.status_code == 200:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"worker not ready in {START_TIMEOUT_S}s:\n{self.log.read_text()[-3000:]}")

    async def wait_step(self, step: str, timeout_s: float = 15) -> None:
        for _ in range(int(timeout_s * 20)):
            if step in self.steps():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"handler never wrote {step!r}; journal: {self.steps()}")

    async def wait_exit(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while (code := self.process.poll()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"worker still running after {timeout_s}s:\n{self.log.read_text()[-3000:]}")
            await asyncio.sleep(0.05)
        return code


StartWorker = Callable[[str, float, float], WorkerProcess]


@pytest.fixture
def start_worker(tmp_path: Path, rabbitmq_url: str, otlp_receiver: OtlpReceiver) -> Iterator[StartWorker]:
    """Start worker processes (queue, handler seconds, grace seconds); any still running afterwards is killed."""
    started: list[WorkerProcess] = []

    def start(queue: str, handler_s: float, grace_s: float) -> WorkerProcess:
        name = f"worker{len(started)}"
        port = _free_port()
        environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
        environment |= {
            "REELSCOPE_AMQP_URL": rabbitmq_url,
            "REELSCOPE_HEALTH_HOST": "127.0.0.1",
            "REELSCOPE_HEALTH_PORT": str(port),
            "REELSCOPE_SHUTDOWN_GRACE_S": str(grace_s),
            "REELSCOPE_PREFETCH": "1",
            "REELSCOPE_LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            # Nothing is exported on a schedule during the test: what arrives, arrives through the final flush.
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
            "OTEL_BLRP_SCHEDULE_DELAY": "600000",
            "OTEL_METRIC_EXPORT_INTERVAL": "600000",
        }
        journal, log = tmp_path / f"{name}.journal", tmp_path / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, str(WORKER), queue, str(journal), str(handler_s)],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, f"http://127.0.0.1:{port}", journal, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait(timeout=10)


@pytest.fixture
async def work_queue(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private durable queue bound to `job.submitted` (with its delay queues), deleted afterwards."""
    spec = QueueSpec(f"reelscope.test.shutdown.{uuid.uuid4().hex[:8]}", (RoutingKey.SUBMITTED,))
    queue = await broker.declare_queue(spec)
    yield queue
    for name in [spec.name, *(retry_queue_name(spec.name, d) for d in broker.settings.retry_delays_s)]:
        await broker.queues[name].delete(if_unused=False, if_empty=False)


@pytest.fixture
async def outcomes(broker: Broker) -> AsyncIterator[AbstractQueue]:
    """A private queue that sees every `job.completed` published during the test."""
    async with private_queue(broker, "reelscope.test.shutdown.outcomes", (RoutingKey.COMPLETED,)) as queue:
        yield queue


async def _get(queue: AbstractQueue) -> AbstractIncomingMessage | None:
    """The next message of `queue` (acked, so it leaves), or None if it is empty."""
    message = await queue.get(fail=False, timeout=5)
    if message is not None:
        await message.ack()
    return message


async def _wait_stopping(worker: WorkerProcess) -> None:
    """Poll /readyz until it answers 503 {"status": "stopping"}."""
    for _ in range(100):
        response = await worker.readyz()
        if response is not None and response.status_code == 503:
            assert response.json() == {"status": "stopping"}
            return
        await asyncio.sleep(0.02)
    raise AssertionError("readiness never turned to 503 stopping")


async def test_sigterm_drains_in_flight_work_then_exits_zero(
    broker: Broker,
    work_queue: AbstractQueue,
    outcomes: AbstractQueue,
    start_worker: StartWorker,
    otlp_receiver: OtlpReceiver,
) -> None:
    """SIGTERM during a 2 s handler: /readyz is 503 "stopping" while the handler still runs, the handler finishes,
    its outcome is published once and its message acked (queue empty), the consumer span reaches the collector
    through the final flush, and the process exits 0 within the grace period."""
    worker = start_worker(work_queue.name, 2.0, 15.0)
    await worker.wait_ready()
    job_id = f"drain{uuid.uuid4().hex[:8]}"
    await broker.publish(submission(job_id))
    await worker.wait_step(f"start {job_id}")

    signalled = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    await _wait_stopping(worker)
    assert f"end {job_id}" not in worker.steps(), "readiness must turn before the in-flight work ends"

    assert await worker.wait_exit(timeout_s=15.0) == 0
    assert time.monotonic() - signalled < 15.0
    assert worker.steps() == [f"start {job_id}", f"end {job_id}"]
    events = await collect_events(outcomes, job_id, until=(JobCompleted,), timeout_s=5)
    assert [type(event) for event in events] == [JobCompleted]
    assert await _get(outcomes) is None, "the outcome must be published exactly once"
    assert await _get(work_queue) is None, "the finished message must have been acked"
    assert worker.logged("draining")["in_flight"] == 1
    assert worker.logged("drained")["requeued"] == 0
    assert any(work_queue.name in name for name in otlp_receiver.span_names), otlp_receiver.span_names


async def test_work_longer_than_the_grace_period_is_cancelled_and_requeued(
    broker: Broker, work_queue: AbstractQueue, outcomes: AbstractQueue, start_worker: StartWorker
) -> None:
    """A 30 s handler with a 1 s grace: the process exits 0 soon after the grace, the handler was cancelled
    (not left running, no outcome published), and the message is back on its queue, redelivered, not lost."""
    worker = start_worker(work_queue.name, 30.0, 1.0)
    await worker.wait_ready()
    job_id = f"requeue{uuid.uuid4().hex[:8]}"
    await broker.publish(submission(job_id))
    await worker.wait_step(f"start {job_id}")

    signalled = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.wait_exit(timeout_s=20.0) == 0
    assert time.monotonic() - signalled < 10.0, "the grace period must bound the wait, not the handler"
    assert worker.steps() == [f"start {job_id}", f"cancelled {job_id}"]
    assert worker.logged("grace period over, requeued")["requeued"] == 1
    returned = await _get(work_queue)
    assert returned is not None, "the unfinished message was lost"
    assert returned.redelivered is True
    assert json.loads(returned.body)["job_id"] == job_id
    assert await _get(outcomes) is None, "an unfinished stage must not publish an outcome"


async def test_no_new_message_is_taken_after_sigterm(
    broker: Broker, work_queue: AbstractQueue, outcomes: AbstractQueue, start_worker: StartWorker
) -> None:
    """A message published after SIGTERM (while the first still runs) is never delivered to the stopping worker:
    it stays in the queue, not redelivered, and the worker exits 0 after finishing the first."""
    worker = start_worker(work_queue.name, 2.0, 15.0)
    await worker.wait_ready()
    first, second = f"first{uuid.uuid4().hex[:8]}", f"second{uuid.uuid4().hex[:8]}"
    await broker.publish(submission(first))
    await worker.wait_step(f"start {first}")

    worker.process.send_signal(signal.SIGTERM)
    await _wait_stopping(worker)
    await broker.publish(submission(second))

    assert await worker.wait_exit(timeout_s=15.0) == 0
    assert worker.steps() == [f"start {first}", f"end {first}"]
    left = await _get(work_queue)
    assert left is not None, "the second message must still be queued"
    assert json.loads(left.body)["job_id"] == second
    assert left.redelivered is False, "the stopping worker must not have been handed the second message"
    assert await _get(work_queue) is None
    events = await collect_events(outcomes, first, until=(JobCompleted,), timeout_s=5)
    assert [type(event) for event in events] == [JobCompleted]
