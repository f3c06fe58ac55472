"""Every collector config in the repo passes the real collector's `validate`; Prometheus configs and
rules pass promtool."""

import subprocess
from pathlib import Path

import pytest
from reelscope_cli.stack.components import collector_env, render_prometheus_config
from reelscope_cli.stack.settings import StackSettings, repo_root

pytestmark = pytest.mark.integration

COLLECTOR_DIR = repo_root() / "otel-collector"
CONFIGS = sorted(p for p in COLLECTOR_DIR.glob("config*.yaml") if "overrides" not in p.name)


def _validate(binary: Path, *configs: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(binary), "validate"]
    for config in configs:
        argv += ["--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_collector_config_validates(collector_binary: Path, config: Path, stack_settings: StackSettings) -> None:
    """The built collector accepts each config (components exist, pipelines are wired)."""
    result = _validate(collector_binary, config, env=collector_env(stack_settings))
    assert result.returncode == 0, result.stderr


def test_production_config_with_overrides_validates(collector_binary: Path) -> None:
    """The documented override file merges cleanly over the production config."""
    result = _validate(collector_binary, COLLECTOR_DIR / "config.yaml", COLLECTOR_DIR / "config.overrides.yaml")
    assert result.returncode == 0, result.stderr


def test_validate_rejects_a_broken_config(collector_binary: Path, tmp_path: Path) -> None:
    """`validate` really checks: a pipeline naming an exporter that is not configured fails."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "receivers: {otlp: {protocols: {grpc: {}}}}\n"
        "exporters: {debug: {}}\n"
        "service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp_grpc/missing]}}}\n"
    )
    assert _validate(collector_binary, broken).returncode != 0


def test_builder_manifest_lists_every_component_the_configs_use(collector_binary: Path) -> None:
    """The binary built from the manifest knows every component type our configs reference."""
    result = subprocess.run([str(collector_binary), "components"], capture_output=True, text=True, check=True)
    for name in (
        "otlp",
        "memory_limiter",
        "batch",
        "span_metrics",
        "file",
        "prometheus",
        "otlp_grpc",
        "otlp_http",
        "k8s_attributes",
        "resource_detection",
        "health_check",
    ):
        assert f"name: {name}\n" in result.stdout


def test_prometheus_configs_and_rules_pass_promtool(stack_settings: StackSettings) -> None:
    """The Kubernetes config, the rendered local config and the alert rules are all valid."""
    local = render_prometheus_config(stack_settings)
    for config in (repo_root() / "prometheus" / "prometheus.yml", local):
        result = subprocess.run(
            ["promtool", "check", "config", "--syntax-only", str(config)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    rules = sorted((repo_root() / "prometheus" / "rules").glob("*.yml"))
    result = subprocess.run(
        ["promtool", "check", "rules", *map(str, rules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
