"""Every Reelscope metric instrument, created in one place, with bucket boundaries that fit its unit.

Names follow OpenTelemetry naming (dots, unit in `unit=`); Prometheus sees e.g.
`reelscope_job_duration_seconds_bucket` and `reelscope_jobs_finished_total` through the collector.
Attributes are low-cardinality only (stage, outcome, rendition); job ids ride along as exemplars.
"""

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

# Seconds, from a fraction of a second (ffprobe, webhooks) to half an hour (long transcodes).
SECONDS_BUCKETS: tuple[float, ...] = (
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    20,
    30,
    60,
    120,
    300,
    600,
    1200,
    1800,
)
# Publisher confirms: a millisecond on a healthy local broker to the publish timeout.
CONFIRM_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Bytes, 64 KiB to 8 GiB in powers of four.
BYTES_BUCKETS: tuple[float, ...] = tuple(float(64 * 1024 * 4**i) for i in range(11))
# Dimensionless ratios: processing time / media time, source size / output size.
RATIO_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256)
WORD_BUCKETS: tuple[float, ...] = (0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000)
# Currency units per job: a thousandth of a cent to a unit.
COST_BUCKETS: tuple[float, ...] = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1)


@dataclass(frozen=True)
class Instruments:
    """The instruments services record into; build with `create_instruments(meter)`."""

    jobs_submitted: Counter
    jobs_finished: Counter
    job_duration: Histogram
    stage_duration: Histogram
    upload_size: Histogram
    rendition_size: Histogram
    webhook_deliveries: Counter
    webhook_duration: Histogram
    notification_deliveries: Counter
    queue_wait: Histogram
    transcode_duration: Histogram
    compression_ratio: Histogram
    realtime_ratio: Histogram
    asr_duration: Histogram
    asr_realtime_factor: Histogram
    transcript_words: Histogram
    ffmpeg_processes: UpDownCounter
    stage_cpu_time: Counter
    job_cost: Histogram
    retries: Counter
    dead_letters: Counter
    redeliveries: Counter
    duplicates_skipped: Counter
    stuck_jobs: Counter
    publish_duration: Histogram
    reconnects: Counter


def create_instruments(meter: Meter) -> Instruments:
    """Create all instruments on `meter` (cheap; call once per process, at start-up)."""
    return Instruments(
        jobs_submitted=meter.create_counter(
            "reelscope.jobs.submitted", unit="{job}", description="Jobs accepted by the ingest API."
        ),
        jobs_finished=meter.create_counter(
            "reelscope.jobs.finished",
            unit="{job}",
            description="Jobs that reached a final state, by reelscope.job.outcome (and reelscope.failure.category).",
        ),
        job_duration=meter.create_histogram(
            "reelscope.job.duration",
            unit="s",
            description="Time from submission to the final state of a job.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        ),
        stage_duration=meter.create_histogram(
            "reelscope.stage.duration",
            unit="s",
            description="Time a worker spent on one stage of a job, by reelscope.stage and outcome.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        ),
        upload_size=meter.create_histogram(
            "reelscope.upload.size",
            unit="By",
            description="Size of uploaded source files.",
            explicit_bucket_boundaries_advisory=BYTES_BUCKETS,
        ),
        rendition_size=meter.create_histogram(
            "reelscope.rendition.size",
            unit="By",
            description="Size of produced renditions, by reelscope.rendition.",
            explicit_bucket_boundaries_advisory=BYTES_BUCKETS,
        ),
        webhook_deliveries=meter.create_counter(
            "reelscope.webhook.deliveries",
            unit="{delivery}",
            description="Webhook delivery attempts, by reelscope.webhook.outcome.",
        ),
        webhook_duration=meter.create_histogram(
            "reelscope.webhook.duration",
            unit="s",
            description="Time to deliver one webhook.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        ),
        notification_deliveries=meter.create_counter(
            "reelscope.notifications.deliveries",
            unit="{delivery}",
            description="Attempts to tell a job's owner, by reelscope.notification.channel and ...outcome.",
        ),
        queue_wait=meter.create_histogram(
            "reelscope.stage.queue_wait",
            unit="s",
            description="Time a stage's message waited in its queue before a worker took it, by reelscope.stage.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        ),
        transcode_duration=meter.create_histogram(
            "reelscope.transcode.duration",
            unit="s",
            description=(
                "Wall time until a rendition was written, by reelscope.rendition. The ladder is encoded in one "
                "ffmpeg pass, so renditions of one job finish together and share this value."
            ),
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        ),
        compression_ratio=meter.create_histogram(
            "reelscope.rendition.compression_ratio",
            unit="1",
            description="Source size divided by rendition size, by reelscope.rendition.",
            explicit_bucket_boundaries_advisory=RATIO_BUCKETS,
        ),
        realtime_ratio=meter.create_histogram(
            "reelscope.stage.realtime_ratio",
            unit="1",
            description="Stage processing time / media duration, by reelscope.stage (below 1: faster than real time).",
            explicit_bucket_boundaries_advisory=RATIO_BUCKETS,
        ),
        asr_duration=meter.create_histogram(
            "reelscope.asr.duration",
            unit="s",
            description="Time the speech recogniser spent on one job, by reelscope.asr.engine.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        ),
        asr_realtime_factor=meter.create_histogram(
            "reelscope.asr.realtime_factor",
            unit="1",
            description="Recognition time divided by audio duration, by reelscope.asr.engine.",
            explicit_bucket_boundaries_advisory=RATIO_BUCKETS,
        ),
        transcript_words=meter.create_histogram(
            "reelscope.transcript.words",
            unit="{word}",
            description="Words recognised per job.",
            explicit_bucket_boundaries_advisory=WORD_BUCKETS,
        ),
        ffmpeg_processes=meter.create_up_down_counter(
            "reelscope.ffmpeg.processes",
            unit="{process}",
            description="ffmpeg processes running now.",
        ),
        stage_cpu_time=meter.create_counter(
            "reelscope.stage.cpu.time",
            unit="s",
            description="CPU seconds spent by a stage's media tools and recogniser, by reelscope.stage.",
        ),
        job_cost=meter.create_histogram(
            "reelscope.job.cost",
            unit="{currency_unit}",
            description="Estimated compute cost of a finished job: its CPU seconds times the price per CPU hour.",
            explicit_bucket_boundaries_advisory=COST_BUCKETS,
        ),
        retries=meter.create_counter(
            "reelscope.messages.retried",
            unit="{message}",
            description="Messages scheduled for a delayed retry after a transient failure, by queue and category.",
        ),
        dead_letters=meter.create_counter(
            "reelscope.messages.dead_lettered",
            unit="{message}",
            description="Messages moved to the parking queue (malformed, or out of attempts), by queue and category.",
        ),
        redeliveries=meter.create_counter(
            "reelscope.messages.redelivered",
            unit="{message}",
            description=(
                "Messages the broker delivered again because an earlier delivery was never acked (a worker died "
                "or lost its connection), by reelscope.queue."
            ),
        ),
        duplicates_skipped=meter.create_counter(
            "reelscope.messages.duplicates_skipped",
            unit="{message}",
            description="Deliveries of a stage that had already finished for the job, acked without redoing it.",
        ),
        stuck_jobs=meter.create_counter(
            "reelscope.jobs.stuck",
            unit="{job}",
            description="Jobs failed by the stuck-job detector: no event for longer than the configured deadline.",
        ),
        publish_duration=meter.create_histogram(
            # Semantic conventions: messaging client operation duration, here from publish to broker confirm.
            "messaging.client.operation.duration",
            unit="s",
            description="Time from sending a message to the broker's publisher confirm (or the failure).",
            explicit_bucket_boundaries_advisory=CONFIRM_BUCKETS,
        ),
        reconnects=meter.create_counter(
            "reelscope.broker.reconnects",
            unit="{reconnect}",
            description="Times the robust broker connection was re-established after it was lost.",
        ),
    )
