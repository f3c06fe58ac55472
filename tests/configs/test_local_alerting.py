"""The local stack runs our rules and our Alertmanager routing unchanged, except for what configuration may change:
`for:` durations capped, receivers pointed at the local alert receiver, grouping timers. Checked with promtool
and amtool on the rendered files."""

import subprocess
from pathlib import Path

import pytest
import yaml
from reelscope_cli.stack.alerting import (
    alertmanager_source,
    cap_for_durations,
    duration_s,
    render_alertmanager_config,
    render_rules,
    rules_dir,
)
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.unit


def _settings(tmp_path: Path, **overrides: object) -> StackSettings:
    return StackSettings(run_dir=tmp_path).model_copy(update=overrides)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), ("250ms", 0.25)])
def test_prometheus_durations_are_read(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m", "10 m", "1.5m", "10x"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        duration_s(text)


def test_only_longer_for_durations_are_capped() -> None:
    rules = "      - alert: A\n        for: 10m\n      - alert: B\n        for: 5s\n"
    capped = cap_for_durations(rules, "15s")
    assert "for: 15s  # capped by REELSCOPE_ALERT_FOR_MAX (was 10m)" in capped
    assert "        for: 5s\n" in capped


def test_capped_rules_differ_from_ours_only_in_for_and_pass_promtool(tmp_path: Path) -> None:
    rendered = render_rules(_settings(tmp_path, alert_for_max="10s"))
    assert rendered != rules_dir()
    sources = sorted(rules_dir().glob("*.yml"))
    assert [p.name for p in sorted(rendered.glob("*.yml"))] == [p.name for p in sources]
    for source in sources:
        original, copy = yaml.safe_load(source.read_text()), yaml.safe_load((rendered / source.name).read_text())
        for group, group_copy in zip(original["groups"], copy["groups"], strict=True):
            for rule, rule_copy in zip(group["rules"], group_copy["rules"], strict=True):
                if "for" in rule:
                    assert duration_s(rule_copy.pop("for")) == min(duration_s(rule.pop("for")), 10)
                assert rule_copy == rule
    result = _run("promtool", "check", "rules", *map(str, sorted(rendered.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_a_cap_prometheus_loads_our_rules_directly(tmp_path: Path) -> None:
    assert render_rules(_settings(tmp_path, alert_for_max="")) == rules_dir()


def test_rendered_alertmanager_config_is_valid_and_routes_like_ours(tmp_path: Path) -> None:
    settings = _settings(tmp_path, alertmanager_group_wait="1s", alertmanager_group_interval="5s")
    rendered = render_alertmanager_config(settings)
    result = _run("amtool", "check-config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    for labels in (["severity=critical", "alertname=X"], ["severity=warning", "alertname=Y"], ["alertname=Z"]):
        routes = [
            _run("amtool", "config", "routes", "test", f"--config.file={config}", *labels).stdout
            for config in (rendered, alertmanager_source())
        ]
        assert routes[0] == routes[1] != ""
    config, ours = yaml.safe_load(rendered.read_text()), yaml.safe_load(alertmanager_source().read_text())
    assert config["inhibit_rules"] == ours["inhibit_rules"]
    assert config["route"]["routes"] == ours["route"]["routes"]
    assert (config["route"]["group_wait"], config["route"]["group_interval"]) == ("1s", "5s")
    receiver = f"http://127.0.0.1:{settings.alert_receiver_port}"
    webhooks = [w for r in config["receivers"] for w in r.get("webhook_configs", [])]
    assert webhooks
    assert all(w["url"] == f"{receiver}/alerts" for w in webhooks)
    slack_files = {s["api_url_file"] for r in config["receivers"] for s in r.get("slack_configs", [])}
    assert [Path(f).read_text() for f in slack_files] == [f"{receiver}/slack"]
    assert config["global"]["smtp_smarthost"] == f"127.0.0.1:{settings.alert_smtp_port}"
    token = settings.alert_webhook_token_file
    assert token.stat().st_mode & 0o077 == 0
    assert len(token.read_text()) >= 24
