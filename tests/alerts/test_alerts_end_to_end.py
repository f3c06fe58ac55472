"""Alerts proven on real data: on a private local stack running our rules in Prometheus and our routing in a real
Alertmanager, each test breaks something the way a user would (a failure flag, a killed worker), asserts that the
matching alert reaches `firing` and that Alertmanager delivers a notification with the rule's labels and
annotations to the local receivers (webhook with its bearer token, Slack, SMTP), then mends it and asserts the
alert resolves and the resolution is notified. Each test prints the times from breaking to notification."""

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from reelscope_cli.alert_watch import AlertTimeline, AlertWatch, notifications_about
from reelscope_cli.client import ApiClient, PrometheusClient
from reelscope_cli.dead_letters import discard, list_dead_letters
from reelscope_cli.samples import make_test_clip
from reelscope_cli.stack.alert_receiver import read_notifications
from reelscope_cli.stack.components import services
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings, repo_root
from reelscope_flags.flagfile import set_flag

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

FIRE_TIMEOUT_S = 180.0
RESOLVE_TIMEOUT_S = 180.0


def _rule(name: str) -> dict[str, Any]:
    """The alert rule as written in prometheus/rules (what the notification must carry)."""
    for path in sorted((repo_root() / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == name:
                    return dict(rule)
    raise KeyError(name)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(tmp_path_factory.mktemp("clips") / "tiny.mp4", size="320x180", duration_s=1.0, audio=False)


def _run_jobs(stack: StackSettings, clip: Path, count: int) -> list[dict[str, Any]]:
    """Submit `count` jobs and wait for each to finish; their final states."""
    with ApiClient.for_stack(stack) as api:
        accepted = [api.submit(clip) for _ in range(count)]
        return [api.wait(job["job_id"], timeout_s=180) for job in accepted]


def _wait_for_a_job_that(stack: StackSettings, clip: Path, status: str, tries: int = 5) -> None:
    """Submit single jobs until one ends `status`: the services see a flag file edit within a second or two (a
    file watch, not a restart), so the first job after the edit may still run the old way."""
    for _ in range(tries):
        (job,) = _run_jobs(stack, clip, 1)
        if job["status"] == status:
            return
        time.sleep(1)
    raise AssertionError(f"no job ended {status} in {tries} tries after the flag edit: {job.get('failure')}")


def _wait_until_quiet(stack: StackSettings, name: str, timeout_s: float = 120.0) -> None:
    """Wait until `name` is neither pending nor firing: right after start-up a service that has not reported yet
    is briefly "down", and a test breaks a healthy stack, not one still starting."""
    deadline = time.monotonic() + timeout_s
    with PrometheusClient(stack.prometheus_url) as prometheus:
        while any(a["labels"]["alertname"] == name for a in prometheus.alerts()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still active {timeout_s:.0f} s after start-up")
            time.sleep(1)


def _amqp_url(stack: StackSettings) -> str:
    return f"amqp://guest:guest@127.0.0.1:{stack.amqp_port}/"


def _assert_notified_as_written(stack: StackSettings, watch: AlertWatch, name: str, channels: set[str]) -> None:
    """The webhook notification carries the rule's severity and annotations and the bearer token; every
    expected channel (webhook, slack, email) got one."""
    timeline = watch.timelines[name]
    deadline = time.monotonic() + 15  # Alertmanager sends to the receivers one after the other
    while not channels <= timeline.notified_channels and time.monotonic() < deadline:
        time.sleep(1)
        watch.poll()
    assert channels <= timeline.notified_channels, timeline.describe()
    rule = _rule(name)
    webhooks = [
        n
        for n in notifications_about(read_notifications(stack.alert_notifications_file), name, "firing", watch.started)
        if n.channel == "webhook"
    ]
    assert webhooks
    assert all(n.authorized for n in webhooks)
    alert = next(a for a in webhooks[0].body["alerts"] if a["labels"]["alertname"] == name)
    assert alert["labels"]["severity"] == rule["labels"]["severity"]
    assert alert["annotations"]["runbook_url"] == rule["annotations"]["runbook_url"]
    assert alert["annotations"]["summary"]
    assert "{{" not in alert["annotations"]["description"]  # rendered with the value


def _print_timelines(capsys: pytest.CaptureFixture[str], what: str, *timelines: AlertTimeline) -> None:
    with capsys.disabled():
        print(f"\n  {what} (seconds from breaking it):")
        for timeline in timelines:
            print(f"    {timeline.describe()}")


def test_poison_messages_fire_dead_letters_present_until_discarded(
    alert_stack: StackSettings, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """poisonMessageRate=1: ingest publishes an undecodable message beside the job, transcode parks it, and
    ReelscopeDeadLettersPresent fires (warning: webhook and Slack). Discarding the parked message resolves it."""
    name = "ReelscopeDeadLettersPresent"
    watch = AlertWatch(alert_stack.prometheus_url, alert_stack.alert_notifications_file, [name])
    set_flag(alert_stack.flags_file, "poisonMessageRate", "1")
    try:
        for _ in range(5):  # the services see a flag file edit within a second or two
            (job,) = _run_jobs(alert_stack, clip, 1)
            assert job["status"] == "completed"  # the job itself is unaffected
            if asyncio.run(list_dead_letters(_amqp_url(alert_stack))):
                break
            time.sleep(1)
    finally:
        set_flag(alert_stack.flags_file, "poisonMessageRate", "off")
    watch.wait(name, "notified_s", FIRE_TIMEOUT_S)
    _assert_notified_as_written(alert_stack, watch, name, {"webhook", "slack"})

    parked = asyncio.run(list_dead_letters(_amqp_url(alert_stack)))
    assert parked
    assert all("malformed" in letter.reason for letter in parked)
    asyncio.run(discard(_amqp_url(alert_stack), None))
    timeline = watch.wait(name, "resolved_notified_s", RESOLVE_TIMEOUT_S)
    _print_timelines(capsys, "poison message", timeline)


def test_failure_spike_fires_failure_ratio_and_budget_burn_then_resolves(
    alert_stack: StackSettings, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """transcodeFailureRate=1: every job fails with the flag named in its reason; ReelscopeJobFailureRatioHigh
    (warning: webhook and Slack) and the success SLO's fast burn (critical: email too) fire. With the flag off,
    jobs succeed again and the failure ratio alert resolves once the window's ratio is back under 20%."""
    ratio, burn = "ReelscopeJobFailureRatioHigh", "ReelscopeJobSuccessBudgetBurnFast"
    watch = AlertWatch(alert_stack.prometheus_url, alert_stack.alert_notifications_file, [ratio, burn])
    set_flag(alert_stack.flags_file, "transcodeFailureRate", "1")
    try:
        _wait_for_a_job_that(alert_stack, clip, "failed")
        jobs = _run_jobs(alert_stack, clip, 5)
        assert all(job["status"] == "failed" for job in jobs)
        assert all("transcodeFailureRate" in job["failure"]["reason"] for job in jobs)
        watch.wait(ratio, "notified_s", FIRE_TIMEOUT_S)
        watch.wait(burn, "notified_s", FIRE_TIMEOUT_S)
    finally:
        set_flag(alert_stack.flags_file, "transcodeFailureRate", "off")
    _assert_notified_as_written(alert_stack, watch, ratio, {"webhook", "slack"})
    _assert_notified_as_written(alert_stack, watch, burn, {"webhook", "email"})

    _wait_for_a_job_that(alert_stack, clip, "completed")
    for _ in range(12):  # at most 60 healthy jobs dilute the 10-minute window until the resolution is notified
        assert all(job["status"] == "completed" for job in _run_jobs(alert_stack, clip, 5))
        watch.poll()
        if watch.timelines[ratio].resolved_notified_s is not None:
            break
    watch.wait(ratio, "resolved_notified_s", RESOLVE_TIMEOUT_S)
    _print_timelines(capsys, "failure spike", watch.timelines[ratio], watch.timelines[burn])


def test_a_killed_worker_fires_service_down_until_restarted(
    alert_stack: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL transcode and leave it down: once the collector forgets its series, ReelscopeServiceDown fires for
    reelscope/transcode (critical: webhook, Slack and email). Restarted, it reports again and the alert resolves."""
    name = "ReelscopeServiceDown"
    (transcode,) = [c for c in services(alert_stack) if c.name == "transcode"]
    manager = ProcessManager(alert_stack.run_dir)
    _wait_until_quiet(alert_stack, name)
    time.sleep(6)  # Alertmanager's resolved notification of a start-up blip goes out within a group interval
    watch = AlertWatch(alert_stack.prometheus_url, alert_stack.alert_notifications_file, [name])
    assert manager.kill(transcode) is not None
    try:
        watch.wait(name, "notified_s", FIRE_TIMEOUT_S)
    finally:
        manager.start(transcode, alert_stack.start_timeout_s)
    _assert_notified_as_written(alert_stack, watch, name, {"webhook", "slack", "email"})
    firing = notifications_about(
        read_notifications(alert_stack.alert_notifications_file), name, "firing", watch.started
    )
    jobs = {
        a["labels"].get("job")
        for n in firing
        if n.channel == "webhook"
        for a in n.body["alerts"]
        if a["status"] == "firing"
    }
    assert "reelscope/transcode" in jobs
    timeline = watch.wait(name, "resolved_notified_s", RESOLVE_TIMEOUT_S)
    _print_timelines(capsys, "worker killed", timeline)
