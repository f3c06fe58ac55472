"""The one consume loop every worker uses: handlers return or raise, this module acks.

- handler returns → ack;
- handler raises `StageFailed` (or anything else) → the job fails: a `job.failed` event with the
  reason is published (confirmed) and only then the message is acked;
- a body that is not a valid message → `job.failed` when its job id can be read, else the message
  is rejected into the parking queue. Nothing is dropped silently.

Stages whose failure must not fail the job (notification) use `FailurePolicy.PARK` instead.
A stage of a cancelled job is skipped (or, when running, stopped) and acked: see `cancellation`.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, ConsumerTag
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from opentelemetry.trace import INVALID_SPAN, Span, StatusCode
from pydantic import ValidationError
from reelscope_contracts import FailureCategory, JobEvent, JobFailed, QueueSpec, RoutingKey, StageName
from reelscope_contracts.messages import JOB_EVENT_ADAPTER, SCHEMA_VERSION
from reelscope_telemetry import (
    PREVIOUS_ATTEMPT_HEADER,
    Telemetry,
    attributes,
    consumer_span,
    get_logger,
    job_scope,
    previous_attempt_header,
)

from reelscope_messaging.broker import PARKING_QUEUE, Broker, retry_queue_name
from reelscope_messaging.cancellation import CancellationWatch
from reelscope_messaging.errors import JobWasCancelled, PublishFailed, RetryLater, StageFailed
from reelscope_messaging.headers import (
    ATTEMPT_HEADER,
    CATEGORY_HEADER,
    ORIGIN_QUEUE_HEADER,
    ORIGIN_ROUTING_KEY_HEADER,
    REASON_HEADER,
)
from reelscope_messaging.idempotency import CompletionLedger

log = get_logger(__name__)

Handler = Callable[[JobEvent], Awaitable[None]]
GiveUp = Callable[[JobEvent, str], Awaitable[None]]
"""Called once a message ran out of attempts (after it was parked), with the final reason."""


class FailurePolicy(Enum):
    """What a failed message means."""

    FAIL_JOB = "fail_job"
    """Publish `job.failed` for the stage and ack (processing stages)."""
    PARK = "park"
    """Reject into the parking queue and log (notification: its failure must not re-fail the job)."""


def _peek(body: bytes, field: str) -> object:
    """A top-level field of a body that may not validate (None when the body is not a JSON object)."""
    try:
        return json.loads(body).get(field)
    except (ValueError, AttributeError):
        return None


def _peek_job_id(body: bytes) -> str | None:
    """Best-effort job id of a body that may not validate, so even a bad message fails its job."""
    value = _peek(body, "job_id")
    valid = isinstance(value, str) and 0 < len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()
    return value if isinstance(value, str) and valid else None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _recipient(event: JobEvent) -> dict[str, Any]:
    """Who hears of the job's end (its webhook and owner), for the `job.failed` a consumer publishes itself."""
    return {"webhook_url": getattr(event, "webhook_url", None), "owner": getattr(event, "owner", None)}


class _JobCancelled(Exception):
    """The handler's task was cancelled because the job was (not because the process is stopping)."""


class Consumer:
    """Consumes one queue for one stage and maps handler outcomes to acks and events."""

    def __init__(
        self,
        broker: Broker,
        telemetry: Telemetry,
        spec: QueueSpec,
        handler: Handler,
        *,
        stage: StageName | None,
        policy: FailurePolicy,
        cancellation: CancellationWatch | None = None,
        on_give_up: GiveUp | None = None,
        ledger: CompletionLedger | None = None,
    ) -> None:
        self._broker = broker
        self._telemetry = telemetry
        self._spec = spec
        self._handler = handler
        self._stage = stage
        self._policy = policy
        self._cancellation = cancellation
        self._on_give_up = on_give_up
        self._ledger = ledger if stage is not None else None
        self.consumer_tag: ConsumerTag | None = None

    async def start(self) -> None:
        """Declare the queue and start consuming (manual acks); each delivery is tracked until it is settled."""
        queue = await self._broker.declare_queue(self._spec)
        self._queue = queue
        self._in_flight = {}
        self.consumer_tag = await queue.consume(self._tracked, no_ack=False)
        log.info("consuming", queue=self._spec.name, stage=self._stage)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        job_id = _peek_job_id(message.body)
        started = time.perf_counter()
        with self._span(message, job_id) as span:
            self._record_redelivery(message, span)
            try:
                event = JOB_EVENT_ADAPTER.validate_json(message.body)
            except ValidationError as exc:
                await self._reject_malformed(message, span, job_id, exc)
                return
            self._record_queue_wait(event)
            if await self._already_completed(event.job_id):
                span.add_event("reelscope.duplicate.skipped", {attributes.STAGE: str(self._stage)})
                self._telemetry.instruments.duplicates_skipped.add(1, {attributes.QUEUE: self._spec.name})
                log.info("stage already finished for this job; duplicate delivery acked", stage=self._stage)
                await message.ack()
                return
            recipient = _recipient(event)
            if await self._cancelled_before_start(event.job_id):
                # Not a stage run: no stage-duration sample, just the event on the span and the ack.
                span.add_event("reelscope.job.cancelled", {attributes.STAGE: str(self._stage), "before_start": True})
                log.info("stage skipped: job was cancelled", stage=self._stage)
                await message.ack()
                return
            try:
                await self._run(event)
            except (_JobCancelled, JobWasCancelled):
                span.add_event("reelscope.job.cancelled", {attributes.STAGE: str(self._stage), "before_start": False})
                span.set_attribute("reelscope.job.cancelled", True)
                log.info("stage stopped: job was cancelled", stage=self._stage)
                await message.ack()
                self._record(started, "cancelled")
            except StageFailed as exc:
                await self._fail(message, span, job_id, exc.reason, exc, recipient, exc.category)
                self._record(started, "failed")
            except RetryLater as exc:
                outcome = await self._retry(message, span, event, exc.reason, exc, recipient, exc.category)
                self._record(started, outcome)
            except Exception as exc:
                # Unexpected: possibly transient (a dropped connection deep in a library), so it is retried
                # like one; a bug fails the job after the last attempt with this reason.
                reason = f"internal error in {self._stage or 'consumer'}: {type(exc).__name__}: {exc}"
                log.exception("handler crashed", queue=self._spec.name)
                outcome = await self._retry(
                    message, span, event, reason, exc, recipient, FailureCategory.INTERNAL_ERROR
                )
                self._record(started, outcome)
            else:
                await self._record_completed(event.job_id)
                await message.ack()
                self._record(started, "succeeded")

    async def _run(self, event: JobEvent) -> None:
        """Run the handler in its own task, so a cancellation of the job can stop exactly that work."""

        async def handle() -> None:
            await self._handler(event)

        task = asyncio.get_running_loop().create_task(handle())
        if self._cancellation is None:
            await task
            return
        with self._cancellation.running(event.job_id, task):
            if self._cancellation.requested(event.job_id):
                task.cancel()  # heard while the marker was being checked
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                stopping = current is not None and current.cancelling() > 0
                if self._cancellation.requested(event.job_id) and not stopping:
                    raise _JobCancelled from None
                raise

    async def _already_completed(self, job_id: str) -> bool:
        """Whether this stage already finished for the job; an unreadable ledger counts as "not yet" (the
        stage then runs again, which at-least-once delivery allows, rather than blocking the queue)."""
        if self._ledger is None or self._stage is None:
            return False
        try:
            return await self._ledger.has_completed(job_id, self._stage.value)
        except Exception as exc:
            log.warning("idempotency record unreadable; running the stage", error=f"{type(exc).__name__}: {exc}")
            return False

    async def _record_completed(self, job_id: str) -> None:
        """Remember that the stage finished, before the ack; if storage refuses, ack anyway (the outcome was
        already published) and say so: a redelivery would then redo the stage once."""
        if self._ledger is None or self._stage is None:
            return
        try:
            await self._ledger.record_completed(job_id, self._stage.value)
        except Exception as exc:
            log.warning("idempotency record not written", error=f"{type(exc).__name__}: {exc}")

    def _record_redelivery(self, message: AbstractIncomingMessage, span: Span) -> None:
        """The broker's redelivered flag: an earlier delivery was never acked (a worker died or disconnected)."""
        if not message.redelivered:
            return
        span.set_attribute("reelscope.message.redelivered", True)
        self._telemetry.instruments.redeliveries.add(1, {attributes.QUEUE: self._spec.name})
        log.info("message redelivered by the broker", queue=self._spec.name)

    async def _reject_malformed(
        self, message: AbstractIncomingMessage, span: Span, job_id: str | None, exc: ValidationError
    ) -> None:
        """A body that breaks the contract is parked (with a metric and a log line, for inspection and replay)
        and, when its job id can be read, fails the job so it is not left waiting for a stage that never runs."""
        reason = f"malformed {message.routing_key} message: {_describe(exc)}"
        version = _peek(message.body, "schema_version")
        if version not in (None, SCHEMA_VERSION):
            reason = f"unsupported schema_version {version!r} in {message.routing_key} message (reads {SCHEMA_VERSION})"
        category = FailureCategory.MALFORMED_MESSAGE
        parked = await self._park(message, reason, category, attempt_of(message))
        await self._fail(message, span, job_id, reason, exc, {}, category, parked=parked)

    async def _cancelled_before_start(self, job_id: str) -> bool:
        """Whether the job was cancelled; a marker check that fails (storage down) counts as "not cancelled"
        rather than leaving the message unacked: the live cancellation watch still stops the work."""
        if self._cancellation is None:
            return False
        try:
            return await self._cancellation.is_cancelled(job_id)
        except Exception as exc:
            log.warning("cancel marker check failed; running the stage", error=f"{type(exc).__name__}: {exc}")
            return False

    @contextmanager
    def _span(self, message: AbstractIncomingMessage, job_id: str | None) -> Iterator[Span]:
        """A consumer span, except for progress hints (published untraced: see `StageProgress`)."""
        if message.routing_key == RoutingKey.PROGRESS.value:
            if job_id is None:
                yield INVALID_SPAN
            else:
                with job_scope(job_id):
                    yield INVALID_SPAN
            return
        with consumer_span(
            self._telemetry.tracer,
            headers=message.headers,
            exchange=message.exchange or "",
            routing_key=message.routing_key or "",
            queue=self._spec.name,
            message_id=message.message_id,
            body_size=len(message.body),
            job_id=job_id,
            attempt=attempt_of(message),
        ) as span:
            yield span

    def _record_queue_wait(self, event: JobEvent) -> None:
        """From the event's own millisecond timestamp (the AMQP timestamp property has whole seconds only)."""
        if self._stage is None:
            return
        wait = (datetime.now(UTC) - event.occurred_at).total_seconds()
        self._telemetry.instruments.queue_wait.record(max(0.0, wait), {attributes.STAGE: self._stage.value})

    def _record(self, started: float, outcome: str) -> None:
        if self._stage is not None:
            self._telemetry.instruments.stage_duration.record(
                time.perf_counter() - started,
                {attributes.STAGE: self._stage.value, attributes.STAGE_OUTCOME: outcome},
            )

    async def _retry(
        self,
        message: AbstractIncomingMessage,
        span: Span,
        event: JobEvent,
        reason: str,
        exc: BaseException,
        recipient: Mapping[str, Any],
        category: FailureCategory,
    ) -> str:
        """Schedule the next attempt through the delay queue, or give up after the last one.
        Returns the stage outcome to record (`retried` or `failed`)."""
        attempt = attempt_of(message)
        settings = self._broker.settings
        if attempt >= settings.max_attempts:
            final = f"{reason} (gave up after {attempt} attempts)"
            await self._park(message, final, category, attempt)
            if self._on_give_up is not None:
                try:
                    await self._on_give_up(event, final)
                except Exception:
                    log.exception("give-up hook failed", queue=self._spec.name)
            await self._fail(message, span, event.job_id, final, exc, recipient, category, parked=True)
            return "failed"
        delay = settings.retry_delay_s(attempt)
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt + 1
        previous = previous_attempt_header(span)
        if previous is not None:
            headers[PREVIOUS_ATTEMPT_HEADER] = previous
        try:
            await self._broker.publish_to_queue(
                retry_queue_name(self._spec.name, delay), message.body, headers, message.message_id
            )
        except PublishFailed as publish_error:
            log.error("retry not scheduled; message returned to its queue", error=str(publish_error))
            await message.nack(requeue=True)
            return "retried"
        span.record_exception(exc)
        span.set_status(StatusCode.ERROR, f"attempt {attempt} of {settings.max_attempts} failed: {reason}")
        span.set_attribute(attributes.FAILURE_REASON, reason)
        span.set_attribute(attributes.FAILURE_CATEGORY, category.value)
        span.add_event("reelscope.retry.scheduled", {attributes.ATTEMPT: attempt + 1, "delay_s": delay})
        self._telemetry.instruments.retries.add(
            1, {attributes.QUEUE: self._spec.name, attributes.FAILURE_CATEGORY: category.value}
        )
        log.warning("retry scheduled", attempt=attempt, next_attempt_in_s=delay, reason=reason)
        await message.ack()
        return "retried"

    async def _park(
        self, message: AbstractIncomingMessage, reason: str, category: FailureCategory, attempt: int
    ) -> bool:
        """Copy the message into the parking queue with why, from where and after how many attempts
        (what `reelscope dead-letters` shows and replays). False if the broker did not take it."""
        headers = dict(message.headers or {})
        headers |= {
            ORIGIN_QUEUE_HEADER: self._spec.name,
            ORIGIN_ROUTING_KEY_HEADER: message.routing_key or "",
            REASON_HEADER: reason[:1000],
            CATEGORY_HEADER: category.value,
            ATTEMPT_HEADER: attempt,
        }
        try:
            await self._broker.publish_to_queue(PARKING_QUEUE, message.body, headers, message.message_id)
        except PublishFailed as exc:
            log.error("message could not be parked", error=str(exc))
            return False
        self._telemetry.instruments.dead_letters.add(
            1, {attributes.QUEUE: self._spec.name, attributes.FAILURE_CATEGORY: category.value}
        )
        log.error("message parked", queue=self._spec.name, reason=reason, attempts=attempt)
        return True

    async def _fail(
        self,
        message: AbstractIncomingMessage,
        span: Span,
        job_id: str | None,
        reason: str,
        exc: BaseException,
        recipient: Mapping[str, Any],
        category: FailureCategory,
        *,
        parked: bool = False,
    ) -> None:
        span.record_exception(exc)
        span.set_status(StatusCode.ERROR, reason)
        span.set_attribute(attributes.FAILURE_REASON, reason)
        span.set_attribute(attributes.FAILURE_CATEGORY, category.value)
        if self._policy is FailurePolicy.FAIL_JOB and job_id is not None and self._stage is not None:
            log.error("job failed", stage=self._stage.value, reason=reason, category=category.value)
            await self._broker.publish(
                JobFailed(job_id=job_id, stage=self._stage, reason=reason, category=category, **recipient)
            )
            if parked or category is not FailureCategory.MALFORMED_MESSAGE:
                await message.ack()
            else:
                await message.reject(requeue=False)  # could not be parked with headers: the exchange parks it
            return
        if parked or await self._park(message, reason, category, attempt_of(message)):
            await message.ack()
        else:
            await message.reject(requeue=False)  # the dead-letter exchange parks it, without the headers

    # Graceful shutdown. Every delivery runs `on_message` as a task kept in `_in_flight` until it ends, so a
    # stopping process can stop taking messages, wait for those it holds, and give back the ones it cannot finish.
    _queue: AbstractQueue | None = None
    _in_flight: dict[asyncio.Task[None], AbstractIncomingMessage] | None = None
    _stopping: bool = False

    async def _tracked(self, message: AbstractIncomingMessage) -> None:
        """The consume callback: run `on_message` as a tracked task (or, once stopping, give the message back)."""
        in_flight = self._in_flight
        if self._stopping or in_flight is None:
            # Delivered between our basic.cancel and its cancel-ok: untouched, straight back to the queue.
            await message.nack(requeue=True)
            return
        task = asyncio.get_running_loop().create_task(self.on_message(message))
        in_flight[task] = message
        task.add_done_callback(lambda done: in_flight.pop(done, None))
        try:
            await task
        except PublishFailed as exc:
            # An outcome (job.failed, a retry) the broker did not confirm: hand the message back rather than hold
            # it unacked on a live channel, where nobody would ever process it again.
            log.error("outcome not published; message returned to its queue", error=str(exc))
            with contextlib.suppress(AMQPError, ChannelInvalidStateError, ConnectionError):
                await message.nack(requeue=True)
        except (AMQPError, ChannelInvalidStateError, ConnectionError) as exc:
            # The connection went away before the ack: the broker redelivers the message (flagged redelivered),
            # and the ledger turns it into a no-op if the stage had finished.
            log.warning("message not settled: connection lost, the broker redelivers it", error=repr(exc))

    @property
    def in_flight(self) -> int:
        """How many delivered messages are being handled now (not yet acked or otherwise settled)."""
        return sum(1 for task in self._in_flight or () if not task.done())

    async def stop_consuming(self, timeout_s: float = 5.0) -> None:
        """Send basic.cancel so the broker delivers no more; messages already delivered stay ours to settle."""
        self._stopping = True
        if self._queue is None or self.consumer_tag is None:
            return
        try:
            await self._queue.cancel(self.consumer_tag, timeout=timeout_s)
        except Exception as exc:  # a closed channel or a slow broker: closing the connection stops deliveries too
            log.warning("basic.cancel failed", queue=self._spec.name, error=f"{type(exc).__name__}: {exc}")
        log.info("stopped consuming", queue=self._spec.name, in_flight=self.in_flight)

    async def drain(self, grace_s: float, unwind_s: float = 5.0) -> int:
        """Give the messages being handled up to `grace_s` to finish and be acked; then cancel what still runs
        (handlers stop their child processes), wait up to `unwind_s` for it to unwind, and nack each such message
        with requeue, so the broker redelivers it (flagged redelivered), never lost and never acked as done.
        Returns how many messages were returned to the queue."""
        running = {task: message for task, message in (self._in_flight or {}).items() if not task.done()}
        log.info("draining", queue=self._spec.name, in_flight=len(running), grace_s=grace_s)
        if running:
            await asyncio.wait(running, timeout=grace_s)
        late = {task: message for task, message in running.items() if not task.done()}
        if not late:
            log.info("drained", queue=self._spec.name, finished=len(running), requeued=0)
            return 0
        for task in late:
            task.cancel("shutdown: grace period over, message returned to its queue")
        await asyncio.wait(late, timeout=unwind_s)
        requeued = 0
        for message in late.values():
            if message.processed:
                continue  # settled while unwinding
            try:
                await message.nack(requeue=True)
            except Exception as exc:  # channel gone: the broker requeues every unacked message when it closes
                log.warning("nack failed; the connection close requeues it", error=f"{type(exc).__name__}: {exc}")
            requeued += 1
        log.warning(
            "grace period over, requeued",
            queue=self._spec.name,
            finished=len(running) - len(late),
            requeued=requeued,
            still_running=sum(1 for task in late if not task.done()),
        )
        return requeued


def attempt_of(message: AbstractIncomingMessage) -> int:
    """Which delivery attempt this is (1 for the first), from our header."""
    value = (message.headers or {}).get(ATTEMPT_HEADER, 1)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, int | str):
        return 1
    try:
        return max(1, int(value))
    except ValueError:
        return 1
