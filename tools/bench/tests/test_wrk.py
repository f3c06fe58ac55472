"""wrk's `--latency` report, as wrk 4.1 printed it against a real ingest, read into figures."""

from pathlib import Path

import pytest
from reelscope_bench.wrk import WrkError, parse_report

pytestmark = pytest.mark.unit
DATA = Path(__file__).parent / "data"


def test_report_of_successful_requests() -> None:
    """Throughput, request count and the 50th/99th percentiles come out in milliseconds; no errors counted."""
    result = parse_report((DATA / "wrk-healthz.txt").read_text())
    assert result.requests == 3572
    assert result.requests_per_s == pytest.approx(1701.40)
    assert result.p50_ms == pytest.approx(2.16)
    assert result.p99_ms == pytest.approx(8.10)
    assert result.non_2xx == 0
    assert result.ok_requests == 3572


def test_error_answers_are_counted_and_not_ok() -> None:
    """`Non-2xx or 3xx responses` is read, so error answers are not taken for throughput."""
    result = parse_report((DATA / "wrk-unauthorized.txt").read_text())
    assert result.requests == 687
    assert result.non_2xx == 687
    assert result.ok_requests == 0
    assert result.p99_ms == pytest.approx(258.33)


def test_latencies_in_microseconds_and_seconds_are_converted() -> None:
    """wrk switches units with the magnitude (us, ms, s): each percentile is converted to milliseconds."""
    report = (DATA / "wrk-healthz.txt").read_text()
    report = report.replace("     50%    2.16ms", "     50%  850.00us").replace(
        "     99%    8.10ms", "     99%    1.25s"
    )
    result = parse_report(report)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1250.0)


def test_a_report_without_latency_distribution_is_refused() -> None:
    """Without `--latency` there are no percentiles: a precise error, not a zero."""
    report = (DATA / "wrk-healthz.txt").read_text().split("  Latency Distribution")[0]
    with pytest.raises(WrkError, match="50%"):
        parse_report(report)
