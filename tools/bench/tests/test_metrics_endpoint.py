"""The /metrics benchmark really scrapes the 10,000 series it claims, over HTTP from the library's endpoint."""

import pytest
from reelscope_bench.metrics_endpoint import SERIES, add_synthetic_series, sample_lines, scrape_times

pytestmark = pytest.mark.unit


def test_scraped_page_holds_ten_thousand_synthetic_series() -> None:
    """A real scrape of the served page shows at least 10,000 distinct synthetic samples, each timed."""
    page, timings_ms = scrape_times(add_synthetic_series, scrapes=2)
    lines = [line for line in page.splitlines() if line.startswith("bench_synthetic_")]
    assert sample_lines(page) == len(lines) >= SERIES
    assert len({line.rsplit(" ", 1)[0] for line in lines}) == len(lines)  # distinct series, not repeats
    assert len(timings_ms) == 2
    assert all(ms > 0 for ms in timings_ms)


def test_sample_lines_skips_help_type_and_other_metrics() -> None:
    """Only sample lines of the named metrics count: not # HELP / # TYPE, not target_info."""
    page = (
        "# HELP bench_synthetic_events_0_total x\n# TYPE bench_synthetic_events_0_total counter\n"
        'bench_synthetic_events_0_total{bench_series="s00000"} 1.0\n'
        'bench_synthetic_events_0_total{bench_series="s00001"} 1.0\n'
        'target_info{service_name="b"} 1.0\n'
    )
    assert sample_lines(page) == 2
