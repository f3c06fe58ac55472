"""Every Reelscope metric instrument, created in one place, with bucket boundaries that fit its unit.

Names follow OpenTelemetry naming (dots, unit in `unit=`); Prometheus sees e.g.
`reelscope_job_duration_seconds_bucket` and `reelscope_jobs_finished_total` through the collector.
Attributes are low-cardinality only (stage, outcome, rendition); job ids ride along as exemplars.
"""

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter

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
# Bytes, 64 KiB to 8 GiB in powers of four.
BYTES_BUCKETS: tuple[float, ...] = tuple(float(64 * 1024 * 4**i) for i in range(11))


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


def create_instruments(meter: Meter) -> Instruments:
    """Create all instruments on `meter` (cheap; call once per process, at start-up)."""
    return Instruments(
        jobs_submitted=meter.create_counter(
            "reelscope.jobs.submitted", unit="{job}", description="Jobs accepted by the ingest API."
        ),
        jobs_finished=meter.create_counter(
            "reelscope.jobs.finished",
            unit="{job}",
            description="Jobs that reached a final state, by reelscope.job.outcome.",
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
    )
