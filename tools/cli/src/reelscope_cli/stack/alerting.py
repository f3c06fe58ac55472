"""Alerting on the local stack: our rules and our Alertmanager routing, from the repo, made to run here.

Nothing in `prometheus/` is edited. What the local stack changes is configuration, rendered into the run dir:
- the rules' `for:` durations capped at `alert_for_max` (so a scenario shows its alert in minutes, and the tests
  in seconds); the expressions, labels and annotations are the repo's, byte for byte;
- Alertmanager's receivers pointed at the stack's alert receiver (webhook, Slack and SMTP on 127.0.0.1), its
  secrets in run-dir files, its grouping timers from the settings; the routes and inhibitions are the repo's.
"""

import re
import secrets
from pathlib import Path
from typing import Any

import yaml

from reelscope_cli.stack.settings import StackSettings, repo_root

_DURATION_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_FOR_LINE = re.compile(r"^(?P<indent>\s+)for: (?P<duration>\S+)\s*$", re.MULTILINE)


def duration_s(text: str) -> float:
    """A Prometheus duration (`90s`, `1h30m`) in seconds; ValueError for anything else."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _DURATION_UNITS_S[u] for n, u in parts)


def rules_dir() -> Path:
    return repo_root() / "prometheus" / "rules"


def cap_for_durations(rules: str, limit: str) -> str:
    """The rule file's text with every `for:` longer than `limit` set to `limit` (a line edit: comments, order
    and every expression stay as written)."""
    limit_s = duration_s(limit)

    def cap(match: re.Match[str]) -> str:
        if duration_s(match["duration"]) <= limit_s:
            return match[0]
        return f"{match['indent']}for: {limit}  # capped by REELSCOPE_ALERT_FOR_MAX (was {match['duration']})"

    return _FOR_LINE.sub(cap, rules)


def render_rules(s: StackSettings) -> Path:
    """The directory Prometheus loads rules from: the repo's own, or capped copies in the run dir."""
    if not s.alert_for_max:
        return rules_dir()
    target = s.run_dir / "prometheus" / "rules"
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.yml"):
        stale.unlink()
    for source in sorted(rules_dir().glob("*.yml")):
        (target / source.name).write_text(cap_for_durations(source.read_text(), s.alert_for_max))
    return target


def alertmanager_source() -> Path:
    return repo_root() / "prometheus" / "alertmanager" / "alertmanager.yml"


def _secret_file(path: Path, text: str | None = None) -> str:
    """A run-dir file Alertmanager reads a secret or a URL from (mode 0600; a token is made once and kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None or not path.exists():
        path.touch(mode=0o600)
        path.write_text(text if text is not None else secrets.token_urlsafe(24))
    return str(path)


def alert_webhook_token_file(s: StackSettings) -> str:
    """The bearer token Alertmanager's webhook sends and the local receiver checks (made once per run dir)."""
    return _secret_file(s.alert_webhook_token_file)


def render_alertmanager_config(s: StackSettings) -> Path:
    """prometheus/alertmanager/alertmanager.yml with its endpoints on the local receiver (see the module doc)."""
    config: dict[str, Any] = yaml.safe_load(alertmanager_source().read_text())
    secrets_dir = s.run_dir / "alertmanager" / "secrets"
    receiver = f"http://127.0.0.1:{s.alert_receiver_port}"
    token_file = alert_webhook_token_file(s)
    slack_url_file = _secret_file(secrets_dir / "slack-webhook-url", f"{receiver}/slack")

    mail = config["global"]
    mail["smtp_smarthost"] = f"127.0.0.1:{s.alert_smtp_port}"
    # The local receiver speaks plain SMTP without AUTH (it is on loopback); production keeps STARTTLS and AUTH.
    mail["smtp_require_tls"] = False
    mail.pop("smtp_auth_username", None)
    mail.pop("smtp_auth_password_file", None)
    config["templates"] = [str(repo_root() / "prometheus" / "alertmanager" / "templates" / "*.tmpl")]
    config["route"] |= {
        "group_wait": s.alertmanager_group_wait,
        "group_interval": s.alertmanager_group_interval,
    }
    for item in config["receivers"]:
        for webhook in item.get("webhook_configs", []):
            webhook["url"] = f"{receiver}/alerts"
            webhook["http_config"]["authorization"]["credentials_file"] = token_file
        for slack in item.get("slack_configs", []):
            slack["api_url_file"] = slack_url_file
    target = s.run_dir / "alertmanager" / "alertmanager.yml"
    target.write_text(
        "# Rendered by reelscope-stack from prometheus/alertmanager/alertmanager.yml: edit that file, not this.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return target
