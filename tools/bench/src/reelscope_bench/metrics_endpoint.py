"""How long a `/metrics` scrape of our Prometheus endpoint (`OTEL_METRICS_EXPORTER=prometheus`) takes with 10,000
series, the seed's target being under 50 ms.

The series are a synthetic cardinality stress: ten counters with a thousand values of a made-up label each, the
kind of label our services never create (ours are low-cardinality: stage, outcome, rendition), so a real page is
far smaller. The endpoint is the library's own `PrometheusEndpoint` on 127.0.0.1, in this process; a scrape
pays the SDK's collection and prometheus_client's text rendering, as a service would.
"""

import statistics
import time
from collections.abc import Callable

import httpx
from opentelemetry.metrics import Histogram, Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from reelscope_cli.load_report import percentile
from reelscope_telemetry import attributes
from reelscope_telemetry._prometheus import PrometheusEndpoint
from reelscope_telemetry.instruments import Instruments, create_instruments

from reelscope_bench.report import Section, at_most

SERIES = 10_000
INSTRUMENTS = 10
SCRAPES = 25
P50_TARGET_MS = 50.0


def add_synthetic_series(meter: Meter, series: int = SERIES, instruments: int = INSTRUMENTS) -> None:
    """`series` counter series spread evenly over `instruments` counters (one label, `bench_series`)."""
    per_instrument = -(-series // instruments)
    made = 0
    for i in range(instruments):
        counter = meter.create_counter(f"bench.synthetic.events_{i}", unit="{event}")
        for j in range(min(per_instrument, series - made)):
            counter.add(1, {"bench_series": f"s{j:05d}"})
        made += min(per_instrument, series - made)


def add_service_like_series(meter: Meter) -> None:
    """For context, a page like a service's: every instrument of ours, four stages times two outcomes."""
    instruments: Instruments = create_instruments(meter)
    for instrument in vars(instruments).values():
        for stage in ("ingest", "transcode", "transcription", "notification"):
            for outcome in ("succeeded", "failed"):
                labels = {attributes.STAGE: stage, attributes.STAGE_OUTCOME: outcome}
                if isinstance(instrument, Histogram):
                    instrument.record(1.0, labels)
                else:
                    instrument.add(1, labels)


def sample_lines(page: str, prefix: str = "bench_synthetic_") -> int:
    """Samples (series) on a Prometheus text page whose metric name starts with `prefix`."""
    return sum(1 for line in page.splitlines() if line.startswith(prefix))


def scrape_times(add_series: Callable[[Meter], None], scrapes: int) -> tuple[str, list[float]]:
    """Serve a fresh meter provider's `add_series` on 127.0.0.1:<free port>; the page and each scrape's ms."""
    endpoint = PrometheusEndpoint("127.0.0.1", 0)
    provider = MeterProvider(
        resource=Resource({"service.name": "bench-metrics"}), metric_readers=[endpoint.reader], shutdown_on_exit=False
    )
    try:
        add_series(provider.get_meter("reelscope-bench"))
        url = f"http://127.0.0.1:{endpoint.port}/metrics"
        with httpx.Client(timeout=30) as client:
            page = client.get(url).raise_for_status().text  # warm-up, and the page we count
            timings_ms: list[float] = []
            for _ in range(scrapes):
                start = time.perf_counter()
                client.get(url).raise_for_status()
                timings_ms.append((time.perf_counter() - start) * 1000)
    finally:
        provider.shutdown()
        endpoint.close()
    return page, timings_ms


def run(scrapes: int = SCRAPES) -> Section:
    """Scrape a 10,000-series page `scrapes` times (median and p99 ms, body size), and a service-like page for
    context; about 30 s on a busy 2-core machine."""
    page, timings_ms = scrape_times(add_synthetic_series, scrapes)
    service_page, service_ms = scrape_times(add_service_like_series, scrapes)
    p50 = statistics.median(timings_ms)
    return Section(
        name="metrics_endpoint",
        title="/metrics with 10,000 series (synthetic)",
        figures={
            "series": sample_lines(page),
            "scrapes": scrapes,
            "p50_ms": round(p50, 2),
            "p99_ms": round(percentile(timings_ms, 99), 2),
            "body_bytes": len(page.encode()),
            "service_like_page": {
                "series": sample_lines(service_page, "reelscope_") + sample_lines(service_page, "messaging_"),
                "p50_ms": round(statistics.median(service_ms), 2),
                "p99_ms": round(percentile(service_ms, 99), 2),
                "body_bytes": len(service_page.encode()),
            },
        },
        targets=[at_most("p50_ms", p50, P50_TARGET_MS)],
    )


if __name__ == "__main__":
    import json

    print(json.dumps(run().to_json(), indent=2))
