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
from reelscope_cli.client import ApiClient
from reelscope_cli.dead_letters import discard, list_dead_letters
from reelscope_cli.samples import make_test_clip
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


def _wait_for_a_completed_job(stack: StackSettings, clip: Path, tries: int = 5) -> None:
    """Jobs complete again once transcode has read the flag file turned off (a file watch, not a restart)."""
    for _ in range(tries):
        (job,) = _run_jobs(stack, clip, 1)
        if job["status"] == "completed":
            return
        time.sleep(1)
    raise AssertionError(f"jobs still fail {tries} tries after the flag went off: {job.get('failure')}")


def _amqp_url(stack: StackSettings) -> str:
    return f"amqp://guest:guest@127.0.0.1:{stack.amqp_port}/"


def _assert_notified_as_written(stack: StackSettings, watch: AlertWatch, name: str, channels: set[str]) -> None:
    """The webhook notification carries the rule's severity and annotations and the bearer token; every
    expected channel (webhook, slack, email) got one."""
    timeline = watch.timelines[name]
    assert channels <= timeline.notified_channels, timeline.describe()
    rule = _rule(name)
    webhooks = [
        n
        for n in notifications_about(stack.alert_notifications_file, name, "firing", watch.started)
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
        (job,) = _run_jobs(alert_stack, clip, 1)
    finally:
        set_flag(alert_stack.flags_file, "poisonMessageRate", "off")
    assert job["status"] == "completed"  # the job itself is unaffected
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
        jobs = _run_jobs(alert_stack, clip, 6)
        assert all(job["status"] == "failed" for job in jobs)
        assert all("transcodeFailureRate" in job["failure"]["reason"] for job in jobs)
        watch.wait(ratio, "notified_s", FIRE_TIMEOUT_S)
        watch.wait(burn, "notified_s", FIRE_TIMEOUT_S)
    finally:
        set_flag(alert_stack.flags_file, "transcodeFailureRate", "off")
    _assert_notified_as_written(alert_stack, watch, ratio, {"webhook", "slack"})
    _assert_notified_as_written(alert_stack, watch, burn, {"webhook", "email"})

    _wait_for_a_completed_job(alert_stack, clip)  # the services see the flag file change within a second or two
    for _ in range(10):  # at most 50 healthy jobs dilute the 10-minute window
        assert all(job["status"] == "completed" for job in _run_jobs(alert_stack, clip, 5))
        watch.poll()
        if watch.timelines[ratio].resolved_s is not None:
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
    watch = AlertWatch(alert_stack.prometheus_url, alert_stack.alert_notifications_file, [name])
    assert manager.kill(transcode) is not None
    try:
        watch.wait(name, "notified_s", FIRE_TIMEOUT_S)
    finally:
        manager.start(transcode, alert_stack.start_timeout_s)
    _assert_notified_as_written(alert_stack, watch, name, {"webhook", "slack", "email"})
    firing = notifications_about(alert_stack.alert_notifications_file, name, "firing", watch.started)
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
