"""`reelscope load` without a stack: the mix parser and its order, the rate schedule, the report maths and the
summary, and the command line refusing bad arguments."""

import itertools
import threading
import time
from collections import Counter

import pytest
from reelscope_cli.load import MAX_JOBS, schedule
from reelscope_cli.load_mix import DEFAULT_MIX, Mix, parse_mix
from reelscope_cli.load_report import LoadReport, percentile, progress_line, summary
from reelscope_cli.main import main

pytestmark = pytest.mark.unit


def test_the_default_mix_parses_to_its_weights() -> None:
    """`short=4,long=1,speech=3,corrupt=1` gives those weights; spaces around parts are ignored."""
    assert parse_mix(DEFAULT_MIX).weights == {"short": 4, "long": 1, "speech": 3, "corrupt": 1}
    assert parse_mix(" short=2 , corrupt=1").weights == {"short": 2, "corrupt": 1}


def test_a_zero_weight_leaves_the_kind_out() -> None:
    """A kind weighted 0 is never submitted (and no clip of it is made)."""
    assert parse_mix("short=1,long=0").weights == {"short": 1}


@pytest.mark.parametrize(
    ("mix", "said"),
    [
        ("short", "'short' is not KIND=WEIGHT"),
        ("huge=1", "unknown clip kind 'huge' (known: short, long, speech, corrupt)"),
        ("short=1,short=2", "clip kind 'short' given twice"),
        ("short=one", "weight of 'short' is not a whole number: 'one'"),
        ("short=-1", "weight of 'short' is negative: -1"),
        ("short=0,long=0", "every weight is 0: nothing to submit"),
        ("", "'' is not KIND=WEIGHT"),
    ],
)
def test_a_bad_mix_is_a_usage_error_naming_the_problem(mix: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`reelscope load --mix <bad>` exits 2 (argparse) before doing anything, saying what is wrong."""
    with pytest.raises(SystemExit) as exited:
        main(["load", "--mix", mix])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --mix: bad mix {mix!r}: {said}" in error, error


@pytest.mark.parametrize(("flag", "value"), [("--rate", "0"), ("--duration", "-5"), ("--max-jobs", str(MAX_JOBS + 1))])
def test_out_of_range_numbers_are_usage_errors(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A rate or duration not above 0, or a job cap above the hard cap, is refused with exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(["load", flag, value])
    assert exited.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err


def test_the_order_follows_the_weights_in_every_window() -> None:
    """Each full cycle of the order holds each kind exactly its weight, interleaved (never 4 shorts in a row)."""
    mix = parse_mix(DEFAULT_MIX)
    first = list(itertools.islice(mix.order(), 9 * 5))
    for cycle in range(5):
        assert Counter(first[cycle * 9 : cycle * 9 + 9]) == Counter(mix.weights)
    longest_run = max(len(list(run)) for _, run in itertools.groupby(first))
    assert longest_run <= 2, first[:9]


def test_a_single_kind_mix_repeats_it() -> None:
    assert set(itertools.islice(Mix({"corrupt": 1}).order(), 5)) == {"corrupt"}


def test_the_schedule_spreads_n_submissions_over_d_seconds() -> None:
    """rate x duration submissions, 1/rate apart, the first at 0 and the last before the duration ends."""
    times = schedule(2.0, 5.0)
    assert len(times) == 10
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(4.5)
    assert all(b - a == pytest.approx(0.5) for a, b in itertools.pairwise(times))
    assert len(schedule(0.3, 10.0)) == 3  # 0, 3.33, 6.67: a fraction rounds up to the next whole submission


def test_the_schedule_is_capped() -> None:
    """`--max-jobs` cuts the schedule short, and nothing goes past the hard cap."""
    assert len(schedule(10.0, 60.0, max_jobs=25)) == 25
    assert len(schedule(1000.0, 3600.0)) == MAX_JOBS


def test_percentiles_are_nearest_rank() -> None:
    """p50/p95/p99/max of 1..100 are 50, 95, 99, 100: values that were measured, not interpolated."""
    values = [float(v) for v in range(100, 0, -1)]
    assert [percentile(values, q) for q in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="percentile of no values"):
        percentile([], 50)


def test_counts_add_up_to_in_flight() -> None:
    """in flight = submitted minus every outcome; a snapshot is a copy the run can go on changing."""
    report = LoadReport(submitted=10, completed=4, failed=1, cancelled=1, rejected=2, errors=1)
    assert report.in_flight == 1
    copy = report.snapshot()
    report.completed += 1
    report.reasons["x"] += 1
    assert (copy.completed, copy.reasons, report.in_flight) == (4, Counter(), 0)


def test_the_summary_shows_counts_throughput_latency_and_reasons() -> None:
    """Every figure the summary promises is in it, worked out from the counters."""
    start = time.monotonic()
    report = LoadReport(
        submitted=9,
        completed=6,
        failed=1,
        rejected=2,
        throttled=3,
        latencies_s=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 12.0],
        started_at=start,
        ended_at=start + 30.0,
    )
    report.reasons.update({"submission answered 415 unsupported_media": 2, "failed in transcode: boom": 1})
    text = summary(report)
    assert "9 submitted" in text
    assert "completed 6  failed 1  cancelled 0  rejected 2  errors 0  unfinished 0  (throttled 3 times)" in text
    assert "throughput 12.0 completed/min (14.0 ended/min)" in text
    assert "p50 4.0s  p95 12.0s  p99 12.0s  max 12.0s" in text
    assert "    2  submission answered 415 unsupported_media" in text
    assert "    1  failed in transcode: boom" in text
    assert "in flight 0" in progress_line(report)
    assert "p95 12.0s" in progress_line(report)


def test_the_summary_names_what_is_still_in_flight() -> None:
    """Jobs left when draining stopped are listed (the first 10, then `...`), so the user can look them up."""
    unfinished = [f"job{i} (long, running)" for i in range(12)]
    text = summary(LoadReport(submitted=12, unfinished=unfinished, ended_at=time.monotonic()))
    assert "unfinished 12" in text
    assert "still in flight when draining stopped: job0 (long, running), " in text
    assert "job9 (long, running), ..." in text
    assert "job10" not in text


def test_a_report_without_latencies_shows_dashes() -> None:
    """Before any job ends, the latency figures are `-`, not an error."""
    assert "p95 -" in progress_line(LoadReport(submitted=1))
    assert "max -" in summary(LoadReport(submitted=1, ended_at=time.monotonic()))


def test_a_snapshot_can_be_read_while_another_thread_counts() -> None:
    """`snapshot()` under the report's lock never sees a half-made update (the scenario runner reads it live)."""
    report = LoadReport()
    done = threading.Event()

    def count() -> None:
        while not done.is_set():
            with report.lock:
                report.submitted += 1
                report.completed += 1

    worker = threading.Thread(target=count)
    worker.start()
    try:
        for _ in range(2000):
            assert report.snapshot().in_flight == 0
    finally:
        done.set()
        worker.join()
