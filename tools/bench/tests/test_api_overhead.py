"""The API overhead section's arithmetic: medians over rounds, throughput ratios and their targets."""

from typing import Any

import pytest
from reelscope_bench.api_overhead import _schedule, summarise

pytestmark = pytest.mark.unit


def _run(configuration: str, get_rps: float, submit_rps: float) -> list[dict[str, Any]]:
    def window(endpoint: str, rps: float) -> dict[str, Any]:
        figures = {"requests_per_s": rps, "p50_ms": 1000 / rps, "p99_ms": 3000 / rps, "requests": 4 * rps, "errors": 0}
        return {"endpoint": endpoint, "configuration": configuration} | figures

    return [window("get_job", get_rps), window("submit", submit_rps)]


def test_ratios_are_of_medians_and_targets_follow_them() -> None:
    """Each configuration's median over its rounds makes the ratios; a slow outlier round does not; the four
    targets read ≥ 0.90 of off and ≥ 1 of the agent."""
    rounds = [
        _run("off", 100, 10),
        _run("off", 104, 12),
        _run("off", 20, 11),  # a round disturbed by another process: the median ignores it
        _run("agent", 80, 10),
        _run("agent", 82, 10),
        _run("agent", 81, 10),
        _run("reelscope", 95, 9),
        _run("reelscope", 96, 9),
        _run("reelscope", 97, 9),
    ]
    figures, targets = summarise([window for windows in rounds for window in windows])
    assert figures["get_job"]["off"]["requests_per_s"] == 100
    assert figures["get_job"]["off"]["p50_ms"] == pytest.approx(10)
    assert figures["get_job"]["throughput_vs_off"] == pytest.approx(0.96)
    assert figures["get_job"]["throughput_vs_agent"] == pytest.approx(96 / 81)
    assert figures["submit"]["throughput_vs_off"] == pytest.approx(9 / 11)
    verdicts = {t.figure: t.met for t in targets}
    assert verdicts == {
        "get_job.throughput_vs_off": True,
        "get_job.throughput_vs_agent": True,
        "submit.throughput_vs_off": False,
        "submit.throughput_vs_agent": False,
    }


def test_schedule_rotates_the_order_of_configurations() -> None:
    """Every round runs each configuration once; over three rounds each is first, middle and last once."""
    order = _schedule(3)
    assert order == ["off", "agent", "reelscope", "agent", "reelscope", "off", "reelscope", "off", "agent"]
