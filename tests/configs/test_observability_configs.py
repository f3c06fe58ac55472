"""Tempo, Loki and Grafana provisioning configs hold the keys our pipeline relies on, and their cross-references
resolve. Tempo, Loki and Grafana cannot run on our machines, so these checks read the files: each check is
shown to fail when its key is removed or its reference broken (the `*_fails_*` tests)."""

import copy
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPO = ROOT / "tempo" / "tempo.yaml"
LOKI = ROOT / "loki" / "loki.yaml"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARDS = ROOT / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
COLLECTOR = ROOT / "otel-collector" / "config.yaml"

UIDS = {"prometheus": "reelscope-prometheus", "tempo": "reelscope-tempo", "loki": "reelscope-loki"}
KeyPath = tuple[str | int, ...]
Check = Callable[[Any], list[str]]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _get(doc: Any, path: KeyPath) -> Any:
    """The value at `path`, or None when any step is missing."""
    for step in path:
        try:
            doc = doc[step]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


def _require(doc: Any, path: KeyPath, problems: list[str], expected: Any = None) -> Any:
    value = _get(doc, path)
    name = ".".join(map(str, path))
    if value is None:
        problems.append(f"{name} is missing")
    elif expected is not None and value != expected:
        problems.append(f"{name} is {value!r}, expected {expected!r}")
    return value


def tempo_problems(doc: Any) -> list[str]:
    problems: list[str] = []
    _require(doc, ("server", "http_listen_port"), problems, 3200)
    _require(doc, ("distributor", "receivers", "otlp", "protocols", "grpc", "endpoint"), problems, "0.0.0.0:4317")
    _require(doc, ("distributor", "receivers", "otlp", "protocols", "http", "endpoint"), problems, "0.0.0.0:4318")
    if _require(doc, ("storage", "trace", "backend"), problems) == "local":
        _require(doc, ("storage", "trace", "local", "path"), problems)
    _require(doc, ("storage", "trace", "wal", "path"), problems)
    _require(doc, ("compactor", "compaction", "block_retention"), problems)
    _require(doc, ("metrics_generator", "storage", "path"), problems)
    _require(doc, ("metrics_generator", "storage", "remote_write", 0, "url"), problems)
    processors = _require(doc, ("overrides", "defaults", "metrics_generator", "processors"), problems) or []
    problems += [
        f"metrics-generator processor {p} is not enabled"
        for p in ("service-graphs", "span-metrics")
        if p not in processors
    ]
    return problems


def loki_problems(doc: Any) -> list[str]:
    problems: list[str] = []
    _require(doc, ("auth_enabled",), problems, False)
    _require(doc, ("server", "http_listen_port"), problems, 3100)
    _require(doc, ("common", "storage"), problems)
    current = _require(doc, ("schema_config", "configs", -1), problems) or {}
    _require(current, ("store",), problems, "tsdb")
    _require(current, ("schema",), problems, "v13")
    _require(current, ("index", "period"), problems, "24h")
    _require(doc, ("limits_config", "allow_structured_metadata"), problems, True)
    _require(doc, ("limits_config", "retention_period"), problems)
    _require(doc, ("compactor", "retention_enabled"), problems, True)
    _require(doc, ("compactor", "delete_request_store"), problems)
    labels = _require(doc, ("distributor", "otlp_config", "default_resource_attributes_as_index_labels"), problems)
    if labels is not None:
        problems += [f"{a} must not be a stream label" for a in ("service.instance.id", "k8s.pod.name") if a in labels]
        problems += [] if "service.name" in labels else ["service.name must be a stream label (service_name)"]
    return problems


# Every datasource-to-datasource link: (path under the datasource, type of the datasource it must name).
REFERENCES: dict[str, list[tuple[KeyPath, str]]] = {
    "prometheus": [(("jsonData", "exemplarTraceIdDestinations", 0, "datasourceUid"), "tempo")],
    "tempo": [
        (("jsonData", "tracesToLogsV2", "datasourceUid"), "loki"),
        (("jsonData", "tracesToMetrics", "datasourceUid"), "prometheus"),
        (("jsonData", "serviceMap", "datasourceUid"), "prometheus"),
        (("jsonData", "lokiSearch", "datasourceUid"), "loki"),
    ],
    "loki": [(("jsonData", "derivedFields", 0, "datasourceUid"), "tempo")],
}


def datasource_problems(doc: Any) -> list[str]:
    problems: list[str] = []
    sources = _get(doc, ("datasources",)) or []
    uids = [s.get("uid") for s in sources]
    problems += [f"uid {u} is used twice" for u in set(uids) if uids.count(u) > 1]
    by_type = {s.get("type"): s for s in sources}
    types_by_uid = {s.get("uid"): s.get("type") for s in sources}
    for kind, uid in UIDS.items():
        source = by_type.get(kind)
        if source is None:
            problems.append(f"no {kind} datasource")
            continue
        _require(source, ("uid",), problems, uid)
        for path, target in REFERENCES[kind]:
            ref = _require(source, path, problems)
            if ref is not None and types_by_uid.get(ref) != target:
                problems.append(f"{kind} {'.'.join(map(str, path))} = {ref!r} names no {target} datasource")
    _require(by_type.get("prometheus"), ("jsonData", "exemplarTraceIdDestinations", 0, "name"), problems, "trace_id")
    _require(by_type.get("tempo"), ("jsonData", "nodeGraph", "enabled"), problems, True)
    _require(by_type.get("tempo"), ("jsonData", "tracesToLogsV2", "tags", 0, "value"), problems, "service_name")
    _require(by_type.get("loki"), ("jsonData", "derivedFields", 0, "matcherType"), problems, "label")
    _require(by_type.get("loki"), ("jsonData", "derivedFields", 0, "matcherRegex"), problems, "trace_id")
    return problems


CHECKS: dict[str, tuple[Path, Check]] = {
    "tempo": (TEMPO, tempo_problems),
    "loki": (LOKI, loki_problems),
    "datasources": (DATASOURCES, datasource_problems),
}


LONE_DOLLAR = re.compile(r"(?<!\$)\$(?!\$)")


def _strings(doc: Any) -> list[str]:
    """Every string value in a parsed YAML document."""
    if isinstance(doc, str):
        return [doc]
    children = doc.values() if isinstance(doc, dict) else doc if isinstance(doc, list) else []
    return [s for child in children for s in _strings(child)]


def _without(doc: Any, path: KeyPath) -> Any:
    broken = copy.deepcopy(doc)
    del _get(broken, path[:-1])[path[-1]]
    return broken


@pytest.mark.unit
@pytest.mark.parametrize("path", [TEMPO, LOKI, DATASOURCES, DASHBOARDS], ids=lambda p: p.name)
def test_config_parses_as_a_yaml_mapping(path: Path) -> None:
    """Each file is valid YAML whose top level is a mapping."""
    assert isinstance(_load(path), dict)


@pytest.mark.unit
@pytest.mark.parametrize("name", CHECKS)
def test_config_has_every_required_key(name: str) -> None:
    """The Tempo, Loki and datasource configs pass every key and reference check."""
    path, check = CHECKS[name]
    assert check(_load(path)) == []


REMOVALS: list[tuple[str, KeyPath]] = [
    ("tempo", ("server", "http_listen_port")),
    ("tempo", ("distributor", "receivers", "otlp", "protocols", "grpc")),
    ("tempo", ("distributor", "receivers", "otlp", "protocols", "http")),
    ("tempo", ("storage", "trace", "backend")),
    ("tempo", ("compactor", "compaction", "block_retention")),
    ("tempo", ("metrics_generator", "storage", "remote_write")),
    ("tempo", ("overrides", "defaults", "metrics_generator", "processors", 0)),
    ("tempo", ("overrides", "defaults", "metrics_generator", "processors", 1)),
    ("loki", ("auth_enabled",)),
    ("loki", ("schema_config", "configs", 0, "store")),
    ("loki", ("schema_config", "configs", 0, "schema")),
    ("loki", ("limits_config", "allow_structured_metadata")),
    ("loki", ("compactor", "delete_request_store")),
    ("loki", ("distributor", "otlp_config", "default_resource_attributes_as_index_labels", 0)),
    ("datasources", ("datasources", 0)),
    ("datasources", ("datasources", 1)),
    ("datasources", ("datasources", 2)),
    *[("datasources", ("datasources", i, *path)) for i, kind in enumerate(UIDS) for path, _ in REFERENCES[kind]],
    ("datasources", ("datasources", 1, "jsonData", "nodeGraph")),
]


@pytest.mark.unit
@pytest.mark.parametrize(("name", "path"), REMOVALS, ids=lambda v: v if isinstance(v, str) else ".".join(map(str, v)))
def test_check_fails_when_its_key_is_removed(name: str, path: KeyPath) -> None:
    """Removing a required key (or a required list entry) from a real config makes its check report a problem."""
    file, check = CHECKS[name]
    assert check(_without(_load(file), path)) != []


@pytest.mark.unit
@pytest.mark.parametrize(("index", "path"), [(i, p) for i, kind in enumerate(UIDS) for p, _ in REFERENCES[kind]])
def test_check_fails_when_a_reference_names_an_unknown_uid(index: int, path: KeyPath) -> None:
    """A cross-link to a UID that no provisioned datasource has is reported."""
    doc = _load(DATASOURCES)
    _get(doc, ("datasources", index, *path[:-1]))[path[-1]] = "no-such-uid"
    assert any("no-such-uid" in p for p in datasource_problems(doc))


@pytest.mark.unit
def test_check_fails_on_a_duplicate_uid() -> None:
    """Two datasources sharing one UID are reported."""
    doc = _load(DATASOURCES)
    doc["datasources"].append(copy.deepcopy(doc["datasources"][0]))
    assert "uid reelscope-prometheus is used twice" in datasource_problems(doc)


@pytest.mark.unit
def test_datasource_order_matches_the_uid_table() -> None:
    """The datasources file lists Prometheus, Tempo, Loki in that order (the removal tests index them so)."""
    assert [s["uid"] for s in _load(DATASOURCES)["datasources"]] == list(UIDS.values())


@pytest.mark.unit
def test_grafana_variables_are_escaped_from_env_expansion() -> None:
    """Every `$` in a datasource value is doubled, so Grafana's env expansion leaves `${__...}` intact."""
    assert [s for s in _strings(_load(DATASOURCES)) if LONE_DOLLAR.search(s)] == []


@pytest.mark.unit
def test_escape_check_catches_a_single_dollar() -> None:
    """A Grafana variable written with one `$` is caught by the escape check."""
    assert LONE_DOLLAR.search('{${__tags}} | trace_id="$${__trace.traceId}"')
    assert not LONE_DOLLAR.search('{$${__tags}} | trace_id="$${__trace.traceId}"')


@pytest.mark.unit
def test_ports_agree_between_collector_backends_and_grafana() -> None:
    """The collector exports to the ports Tempo and Loki listen on; Grafana and Tempo's remote write use theirs."""
    collector, tempo, loki = _load(COLLECTOR), _load(TEMPO), _load(LOKI)
    urls = {s["type"]: s["url"] for s in _load(DATASOURCES)["datasources"]}
    exporters = collector["exporters"]
    assert exporters["otlp_grpc/tempo"]["endpoint"].endswith(":-tempo:4317}")
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
    assert exporters["otlp_http/loki"]["endpoint"].endswith(f"loki:{loki['server']['http_listen_port']}/otlp}}")
    assert urls["tempo"] == f"http://tempo:{tempo['server']['http_listen_port']}"
    assert urls["loki"] == f"http://loki:{loki['server']['http_listen_port']}"
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["url"] == f"{urls['prometheus']}/api/v1/write"


@pytest.mark.unit
def test_dashboard_provider_reads_the_reelscope_folder() -> None:
    """The file provider loads /var/lib/grafana/dashboards into the "Reelscope" folder."""
    (provider,) = _load(DASHBOARDS)["providers"]
    assert (provider["type"], provider["folder"]) == ("file", "Reelscope")
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.integration
def test_traces_to_metrics_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool accepts every tracesToMetrics query once Grafana's $__tags is filled in."""
    tempo = next(s for s in _load(DATASOURCES)["datasources"] if s["type"] == "tempo")
    queries = tempo["jsonData"]["tracesToMetrics"]["queries"]
    exprs = [q["query"].replace("$$__tags", 'service_name="ingest"') for q in queries]
    rules = {"groups": [{"name": "t", "rules": [{"record": f"t:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "q.yml").write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(tmp_path / "q.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
