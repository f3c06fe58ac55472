"""deploy/k8s/: the values files for the upstream charts a production install uses (kube-prometheus-stack,
tempo-distributed, Loki), the RabbitmqCluster, the kind config and our chart's production values. None of those
charts or the operator can run here, so these checks read the files and cross-check them against the repo's own
configs and against what our chart renders from reelscope-production-values.yaml."""

import copy
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from .conftest import REPO as ROOT
from .conftest import helm_binary
from .test_broker_timeouts import FFMPEG_CEILING_MS, consumer_timeout_ms

pytestmark = pytest.mark.unit

DEPLOY = ROOT / "deploy" / "k8s"
CHART = ROOT / "helm" / "reelscope"
PRODUCTION = DEPLOY / "reelscope-production-values.yaml"
KPS = DEPLOY / "kube-prometheus-stack-values.yaml"
TEMPO = DEPLOY / "tempo-distributed-values.yaml"
LOKI = DEPLOY / "loki-values.yaml"
RABBITMQ = DEPLOY / "rabbitmq-cluster.yaml"
KIND = DEPLOY / "kind-cluster.yaml"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
EXPECTED_FILES = {p.name for p in (PRODUCTION, KPS, TEMPO, LOKI, RABBITMQ, KIND)}
THREE_HOURS_MS = 3 * 3600 * 1000


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def merged(defaults: Any, overrides: Any) -> Any:
    """Helm's coalescing of user values over the chart's: maps merge key by key, anything else is replaced."""
    if isinstance(defaults, dict) and isinstance(overrides, dict):
        return {key: merged(defaults.get(key), overrides[key]) if key in overrides else defaults[key]
                for key in defaults.keys() | overrides.keys()}  # fmt: skip
    return overrides


def schema_errors(user_values: Any) -> list[str]:
    """What values.schema.json says about the user's values coalesced over values.yaml, as Helm validates them."""
    values = merged(load(CHART / "values.yaml"), user_values)
    schema = json.loads((CHART / "values.schema.json").read_text())
    # Written as https://json-schema.org/draft-07/schema#, which Helm reads as draft 7 and jsonschema does not know.
    assert "draft-07" in schema["$schema"]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(values)]


@cache
def rendered_production() -> tuple[dict[str, Any], ...]:
    """Our chart rendered by Helm with the production values, as the README installs it."""
    helm = helm_binary()
    if not os.access(helm, os.X_OK):
        pytest.fail(f"Helm is not built ({helm} is missing): run `make setup` or `bash scripts/build-go-tools.sh`")
    result = subprocess.run(
        [str(helm), "template", "reelscope", str(CHART), "--namespace", "reelscope", "--kube-version", "1.34.0",
         "-f", str(PRODUCTION)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in rendered_production() if doc["kind"] == kind]


def datasources_by_uid(sources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {source["uid"]: source for source in sources}


def test_every_file_parses_and_none_is_missing() -> None:
    """Each YAML file in deploy/k8s parses to at least one non-empty document, and the expected files all exist."""
    present = {path.name for path in DEPLOY.glob("*.yaml")}
    assert present >= EXPECTED_FILES, f"missing: {sorted(EXPECTED_FILES - present)}"
    for path in sorted(DEPLOY.glob("*.yaml")):
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        assert documents, f"{path.name} is empty"
        assert all(isinstance(doc, dict) for doc in documents), path.name
    readme = (DEPLOY / "README.md").read_text()
    for name in EXPECTED_FILES:
        assert name in readme, f"README.md does not say what {name} is for"


def test_production_values_validate_against_the_chart_schema() -> None:
    """reelscope-production-values.yaml satisfies helm/reelscope/values.schema.json (jsonschema)."""
    assert schema_errors(load(PRODUCTION)) == []


def test_schema_check_catches_a_misspelled_key() -> None:
    """The same validation refuses the production values with one key misspelled (so the check above can fail)."""
    values = copy.deepcopy(load(PRODUCTION))
    values["rabbitmq"]["existingSecrets"] = values["rabbitmq"].pop("existingSecret")
    assert any("existingSecrets" in error for error in schema_errors(values))


def test_production_values_render_in_external_mode() -> None:
    """Helm renders the chart with the production values: no bundled backend, the migration hook Job, KEDA and HPA
    scalers, and the services reading the AMQP URL from the operator-derived Secret."""
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in rendered_production()}
    for bundled in ("rabbitmq", "tempo", "loki", "prometheus", "alertmanager", "grafana"):
        assert ("Service", bundled) not in names, f"bundled {bundled} rendered in external mode"
    assert ("Job", "reelscope-migrate") in names
    assert len(of_kind("ScaledObject")) == 2
    assert len(of_kind("HorizontalPodAutoscaler")) == 1
    ingest = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "reelscope-ingest")
    env = {e["name"]: e for e in ingest["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REELSCOPE_AMQP_URL"]["valueFrom"]["secretKeyRef"] == {"name": "reelscope-rabbitmq", "key": "amqp-url"}


def test_kube_prometheus_stack_selects_our_rules_and_monitors() -> None:
    """The PrometheusRule and ServiceMonitor our chart renders carry every label kube-prometheus-stack's Prometheus
    selects on, and its Grafana sidecar watches the label and folder annotation of our dashboard ConfigMaps."""
    spec = load(KPS)["prometheus"]["prometheusSpec"]
    for kind, selector in (("PrometheusRule", "ruleSelector"), ("ServiceMonitor", "serviceMonitorSelector")):
        wanted = spec[selector]["matchLabels"]
        assert wanted, f"{selector} selects nothing in particular"
        for doc in of_kind(kind):
            labels = doc["metadata"]["labels"]
            assert wanted.items() <= labels.items(), f"{kind} {doc['metadata']['name']} lacks {wanted}"
        assert spec[f"{selector}NilUsesHelmValues"] is False
    assert of_kind("PrometheusRule")
    assert of_kind("ServiceMonitor")
    sidecar = load(KPS)["grafana"]["sidecar"]["dashboards"]
    dashboards = [d for d in of_kind("ConfigMap") if "-dashboard-" in d["metadata"]["name"]]
    assert len(dashboards) == len(list((ROOT / "grafana" / "dashboards").glob("*.json")))
    for doc in dashboards:
        assert doc["metadata"]["labels"].get(sidecar["label"]) == sidecar["labelValue"]
        assert sidecar["folderAnnotation"] in doc["metadata"]["annotations"]


def test_kube_prometheus_stack_prometheus_takes_exemplars_and_remote_writes() -> None:
    """Prometheus stores exemplars and accepts remote writes, and Tempo's metrics-generator writes to that
    Prometheus's Service, which is also the Prometheus datasource's URL."""
    spec = load(KPS)["prometheus"]["prometheusSpec"]
    assert "exemplar-storage" in spec["enableFeatures"]
    assert spec["enableRemoteWriteReceiver"] is True
    prometheus = datasources_by_uid(load(KPS)["grafana"]["additionalDataSources"])["reelscope-prometheus"]
    writes = load(TEMPO)["metricsGenerator"]["config"]["storage"]["remote_write"]
    assert [w["url"] for w in writes] == [f"{prometheus['url']}/api/v1/write"]
    assert all(w["send_exemplars"] for w in writes)


def test_datasources_keep_the_provisioned_uids_and_settings() -> None:
    """kube-prometheus-stack's Grafana gets the three datasources of grafana/provisioning with the same UIDs, types
    and cross-links (every setting but the URL), and the stack's own default Prometheus datasource is off."""
    ours = datasources_by_uid(load(DATASOURCES)["datasources"])
    theirs = datasources_by_uid(load(KPS)["grafana"]["additionalDataSources"])
    assert set(theirs) == set(ours) == {"reelscope-prometheus", "reelscope-tempo", "reelscope-loki"}
    for uid, source in ours.items():
        without_url = {k: v for k, v in source.items() if k != "url"}
        assert {k: v for k, v in theirs[uid].items() if k != "url"} == without_url, uid
    assert load(KPS)["grafana"]["sidecar"]["datasources"]["defaultDatasourceEnabled"] is False


def test_collector_sends_where_grafana_reads() -> None:
    """The in-chart collector's Tempo and Loki endpoints (production values, as rendered) are the services the
    Tempo and Loki datasources read from: same release, namespace and Loki gateway."""
    collector = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "reelscope-otel-collector")
    env = {e["name"]: e.get("value") for e in collector["spec"]["template"]["spec"]["containers"][0]["env"]}
    sources = datasources_by_uid(load(KPS)["grafana"]["additionalDataSources"])
    assert env["LOKI_OTLP_ENDPOINT"] == f"{sources['reelscope-loki']['url']}/otlp"
    tempo_host = urlsplit(sources["reelscope-tempo"]["url"]).hostname or ""
    assert env["TEMPO_OTLP_ENDPOINT"] == tempo_host.replace("-query-frontend.", "-distributor.") + ":4317"
    assert urlsplit(sources["reelscope-tempo"]["url"]).port == load(TEMPO)["server"]["httpListenPort"]
    assert load(TEMPO)["traces"]["otlp"]["grpc"]["enabled"] is True


def test_tempo_generates_the_same_metrics_as_the_bundled_tempo() -> None:
    """tempo-distributed runs the processors and settings of tempo/tempo.yaml's metrics-generator, on S3."""
    bundled = load(ROOT / "tempo" / "tempo.yaml")
    values = load(TEMPO)
    assert values["metricsGenerator"]["enabled"] is True
    processors = values["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert processors == bundled["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert values["metricsGenerator"]["config"]["processor"] == bundled["metrics_generator"]["processor"]
    assert values["storage"]["trace"]["backend"] == "s3"


def test_loki_indexes_the_same_stream_labels_as_the_bundled_loki() -> None:
    """Loki's OTLP stream labels equal loki/loki.yaml's (service.name, no trace or job ids), with structured
    metadata on a tsdb/v13 schema in object storage."""
    bundled = load(ROOT / "loki" / "loki.yaml")
    loki = load(LOKI)["loki"]
    labels = loki["structuredConfig"]["distributor"]["otlp_config"]["default_resource_attributes_as_index_labels"]
    assert labels == bundled["distributor"]["otlp_config"]["default_resource_attributes_as_index_labels"]
    assert "service.name" in labels
    assert not [label for label in labels if re.search(r"trace|job\.id|pod\.name|instance\.id", label)]
    assert loki["limits_config"]["allow_structured_metadata"] is True
    schema = loki["schemaConfig"]["configs"][-1]
    assert (schema["store"], schema["schema"], schema["object_store"]) == ("tsdb", "v13", "s3")
    assert loki["storage"]["type"] == "s3"


def test_rabbitmq_cluster_outlasts_the_longest_transcode() -> None:
    """The RabbitmqCluster has 3 replicas, the management and prometheus plugins, resources, and a consumer_timeout
    of at least 3 hours and above transcode's default ffmpeg time limit (RabbitMQ's default 30 minutes would close
    a long transcode's channel and the job would be redelivered mid-encode)."""
    cluster = load(RABBITMQ)
    assert (cluster["apiVersion"], cluster["kind"]) == ("rabbitmq.com/v1beta1", "RabbitmqCluster")
    spec = cluster["spec"]
    assert spec["replicas"] == 3
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(spec["rabbitmq"]["additionalPlugins"])
    assert spec["resources"]["requests"]
    assert spec["resources"]["limits"]
    timeout_ms = consumer_timeout_ms(spec["rabbitmq"]["additionalConfig"])
    assert timeout_ms >= THREE_HOURS_MS
    assert timeout_ms > FFMPEG_CEILING_MS


def test_kind_cluster_has_three_nodes_and_the_ingress_ports() -> None:
    """kind: one control plane labelled for ingress-nginx with ports 80 and 443 mapped to the host, two workers."""
    kind = load(KIND)
    assert (kind["kind"], kind["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    roles = [node["role"] for node in kind["nodes"]]
    assert sorted(roles) == ["control-plane", "worker", "worker"]
    control = next(node for node in kind["nodes"] if node["role"] == "control-plane")
    assert {m["containerPort"] for m in control["extraPortMappings"]} == {80, 443}
    assert "ingress-ready=true" in "".join(control["kubeadmConfigPatches"])
