"""The configuration the chart ships is the repo's own files, byte for byte, never a copy that could drift: the
collector config, the Prometheus rules (as a ConfigMap for the bundled Prometheus and as a PrometheusRule), the
dashboards (for Grafana's sidecar and for the bundled Grafana with its provisioning), Prometheus's, Tempo's,
Loki's and Alertmanager's configs. Each expected ConfigMap must exist: a missing one fails."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import FULLNAME, REPO, Objects, Renderer

pytestmark = pytest.mark.unit

BUNDLED = "default-values.yaml"
EXTERNAL = "external-values.yaml"
RULES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
COMPONENT = "app.kubernetes.io/component"


def config_map(objects: Objects, name: str) -> dict[str, str]:
    """The data of the ConfigMap called `name`; fails naming it when the chart does not render it."""
    found = [obj for obj in objects if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name]
    assert found, f"ConfigMap {name} is not rendered"
    data: dict[str, str] = found[0].get("data") or {}
    return data


def assert_same_bytes(data: dict[str, str], key: str, source: Path) -> None:
    assert key in data, f"key {key} missing (holding {source.relative_to(REPO)}); keys: {sorted(data)}"
    assert data[key].encode() == source.read_bytes(), f"{key} differs from {source.relative_to(REPO)}"


@pytest.mark.parametrize("ci_file", [BUNDLED, EXTERNAL])
def test_collector_config_is_the_repo_file(render: Renderer, ci_file: str) -> None:
    """The collector's ConfigMap holds otel-collector/config.yaml unchanged."""
    data = config_map(render(ci_file), f"{FULLNAME}-otel-collector")
    assert_same_bytes(data, "config.yaml", REPO / "otel-collector" / "config.yaml")


def test_collector_persistent_queue_is_the_repo_file(render: Renderer) -> None:
    """With the persistent queue on, the collector also gets otel-collector/config.persistent-queue.yaml unchanged."""
    data = config_map(render(EXTERNAL), f"{FULLNAME}-otel-collector")
    assert_same_bytes(data, "persistent-queue.yaml", REPO / "otel-collector" / "config.persistent-queue.yaml")


def test_bundled_prometheus_rules_are_the_repo_files(render: Renderer) -> None:
    """The bundled Prometheus's rules ConfigMap holds every prometheus/rules/*.yml unchanged, and nothing else."""
    data = config_map(render(BUNDLED), f"{FULLNAME}-prometheus-rules")
    for rule_file in RULES:
        assert_same_bytes(data, rule_file.name, rule_file)
    assert set(data) == {p.name for p in RULES}


def test_prometheus_rule_holds_every_group_of_the_repo_files(render: Renderer) -> None:
    """The PrometheusRule's groups are those of prometheus/rules/*.yml, in file-name order, unchanged."""
    rules = [obj for obj in render(EXTERNAL) if obj["kind"] == "PrometheusRule"]
    assert len(rules) == 1, "external-values renders one PrometheusRule"
    expected = [group for path in RULES for group in yaml.safe_load(path.read_text())["groups"]]
    assert rules[0]["spec"]["groups"] == expected


def dashboard_config_maps(objects: Objects, label: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == "ConfigMap" and label in (obj["metadata"].get("labels") or {})]


def test_sidecar_dashboards_are_the_repo_files(render: Renderer) -> None:
    """The ConfigMaps labelled for Grafana's sidecar hold every grafana/dashboards/*.json unchanged, and only them."""
    objects = render(EXTERNAL)
    found = dashboard_config_maps(objects, "grafana_dashboard")
    assert found, "no ConfigMap labelled grafana_dashboard"
    union: dict[str, str] = {}
    for obj in found:
        for key, value in (obj.get("data") or {}).items():
            assert key not in union, f"dashboard {key} is in two ConfigMaps"
            union[key] = value
    for dashboard in DASHBOARDS:
        assert_same_bytes(union, dashboard.name, dashboard)
    assert set(union) == {p.name for p in DASHBOARDS}


def grafana_files(objects: Objects) -> dict[str, str]:
    """Every key of the bundled Grafana's ConfigMaps (component grafana, not the sidecar's)."""
    found = [
        obj
        for obj in objects
        if obj["kind"] == "ConfigMap" and (obj["metadata"].get("labels") or {}).get(COMPONENT) == "grafana"
    ]
    assert found, "the bundled Grafana has no ConfigMap"
    return {key: value for obj in found for key, value in (obj.get("data") or {}).items()}


@pytest.mark.parametrize(
    "source",
    [
        Path("grafana/provisioning/datasources/datasources.yaml"),
        Path("grafana/provisioning/dashboards/dashboards.yaml"),
        *(p.relative_to(REPO) for p in DASHBOARDS),
    ],
    ids=str,
)
def test_bundled_grafana_gets_the_repo_files(render: Renderer, source: Path) -> None:
    """The bundled Grafana's ConfigMaps hold this provisioning file or dashboard unchanged."""
    assert_same_bytes(grafana_files(render(BUNDLED)), source.name, REPO / source)


@pytest.mark.parametrize(
    ("config_map_name", "key", "source"),
    [
        ("prometheus", "prometheus.yml", "prometheus/prometheus.yml"),
        ("tempo", "tempo.yaml", "tempo/tempo.yaml"),
        ("loki", "loki.yaml", "loki/loki.yaml"),
        ("alertmanager", "alertmanager.yml", "prometheus/alertmanager/alertmanager.yml"),
        ("alertmanager", "reelscope.tmpl", "prometheus/alertmanager/templates/reelscope.tmpl"),
    ],
    ids=lambda value: str(value),
)
def test_bundled_backend_config_is_the_repo_file(render: Renderer, config_map_name: str, key: str, source: str) -> None:
    """The bundled backend's ConfigMap holds its config from the repo unchanged."""
    assert_same_bytes(config_map(render(BUNDLED), f"{FULLNAME}-{config_map_name}"), key, REPO / source)


def test_the_comparison_notices_one_changed_byte(render: Renderer) -> None:
    """A collector config differing by one trailing newline fails the byte comparison (so a pass means identity)."""
    data = dict(config_map(render(EXTERNAL), f"{FULLNAME}-otel-collector"))
    data["config.yaml"] += "\n"
    with pytest.raises(AssertionError):
        assert_same_bytes(data, "config.yaml", REPO / "otel-collector" / "config.yaml")
