"""Alerts, SLOs and Alertmanager routing, proven with Prometheus's and Alertmanager's own tools: promtool unit
tests for every rule (firing and not firing), complete annotations with a runbook section that exists, and
amtool on the Alertmanager config, its routes per severity and its templates."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from reelscope_cli.stack.settings import repo_root

pytestmark = pytest.mark.unit

PROMETHEUS = repo_root() / "prometheus"
ALERTMANAGER = PROMETHEUS / "alertmanager" / "alertmanager.yml"
RUNBOOKS = repo_root() / "docs" / "runbooks.md"


def _rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted((PROMETHEUS / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def _unit_tests() -> list[dict[str, Any]]:
    return [
        test
        for path in sorted((PROMETHEUS / "tests").glob("*.test.yml"))
        for test in yaml.safe_load(path.read_text())["tests"]
    ]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=repo_root())


def test_every_rule_passes_its_promtool_unit_tests() -> None:
    """`promtool test rules` on prometheus/tests: alert expressions, `for` durations, labels, rendered annotations
    and recording-rule values as expected."""
    result = _run("promtool", "test", "rules", *map(str, sorted((PROMETHEUS / "tests").glob("*.test.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    """Each alert appears in a unit test expecting it to fire and in one expecting silence."""
    fires: set[str] = set()
    silent: set[str] = set()
    for test in _unit_tests():
        for case in test.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert alerts - fires == set()
    assert alerts - silent == set()


def test_every_recording_rule_is_checked_by_value_or_feeds_a_tested_alert() -> None:
    """No recording rule goes unexercised: either a promql_expr_test reads it or a tested alert uses it."""
    tested_exprs = " ".join(case["expr"] for test in _unit_tests() for case in test.get("promql_expr_test", []))
    alert_exprs = " ".join(rule["expr"] for rule in _rules() if "alert" in rule)
    records = {rule["record"]: rule["expr"] for rule in _rules() if "record" in rule}
    used = tested_exprs + " " + alert_exprs
    exercised: set[str] = set()
    while True:  # a rule read by an exercised rule is exercised too (the 30-day ratio feeds the budget left)
        found = {r for r in records if r not in exercised and re.search(re.escape(r) + r"(?![\w:])", used)}
        if not found:
            break
        exercised |= found
        used += " " + " ".join(records[r] for r in found)
    assert set(records) - exercised == set()


def test_every_alert_has_severity_summary_description_and_an_existing_runbook_section() -> None:
    """Severity critical or warning; a summary; a description that shows the value or the labels; a runbook link
    to a heading of docs/runbooks.md."""
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in RUNBOOKS.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in (r for r in _rules() if "alert" in r):
        annotations = rule["annotations"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert annotations["summary"], rule["alert"]
        assert "{{" in annotations["description"], rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/runbooks.md", rule["alert"]
        assert anchor in headings, f"{rule['alert']}: no runbook section #{anchor}"


def test_alertmanager_config_is_valid() -> None:
    """`amtool check-config` accepts the config (receivers, routes, inhibitions, file-based secrets)."""
    result = _run("amtool", "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "alertname=ReelscopeRabbitMQDown"], "webhook,critical-page"),
        (["severity=warning", "alertname=ReelscopeDeadLettersPresent"], "webhook,slack-warnings"),
        (["alertname=SomethingUnlabelled"], "webhook"),
    ],
)
def test_alerts_are_routed_by_severity(labels: list[str], receivers: str) -> None:
    """Critical pages by email and Slack, warnings go to Slack, everything reaches the webhook."""
    result = _run("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_notification_templates_render(tmp_path: Path) -> None:
    """The templates the receivers name exist and render (title, text, e-mail body)."""
    glob = str(PROMETHEUS / "alertmanager" / "templates" / "*.tmpl")
    text = (
        '{{ template "reelscope.title" . }}|{{ template "reelscope.text" . }}|{{ template "reelscope.email.html" . }}'
    )
    result = _run("amtool", "template", "render", f"--template.glob={glob}", f"--template.text={text}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Runbook:" in result.stdout
    config = ALERTMANAGER.read_text()
    for name in re.findall(r'template "([\w.]+)"', config):
        assert f'define "{name}"' in (PROMETHEUS / "alertmanager" / "templates" / "reelscope.tmpl").read_text()


def test_inhibitions_by_equal_labels_need_those_labels() -> None:
    """Alertmanager treats a label missing on both alerts as equal, so an inhibition with `equal: [slo]` and no
    `slo` matcher would let any critical alert silence every warning without an `slo` label."""
    config = yaml.safe_load(ALERTMANAGER.read_text())
    for rule in config["inhibit_rules"]:
        for label in rule.get("equal", []):
            for side in ("source_matchers", "target_matchers"):
                assert f'{label}=~".+"' in rule[side], (side, rule)
