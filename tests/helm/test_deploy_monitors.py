"""deploy/k8s/rabbitmq-podmonitor.yaml, the per-queue scrape of the operator's RabbitMQ in a production install, is a
valid PodMonitor that kube-prometheus-stack selects and that scrapes what prometheus/prometheus.yml scrapes."""

import json

import jsonschema
import pytest
import yaml

from .conftest import REPO
from .test_kubernetes_schemas import crd_schema_dir

pytestmark = pytest.mark.unit

MONITOR = REPO / "deploy" / "k8s" / "rabbitmq-podmonitor.yaml"


def test_the_rabbitmq_podmonitor_is_valid_and_selected() -> None:
    """The PodMonitor validates against its CRD schema, carries the label the stack selects, and scrapes the
    per-queue endpoint on the rabbitmq_prometheus port."""
    monitor = yaml.safe_load(MONITOR.read_text())
    schema = json.loads((crd_schema_dir() / "monitoring.coreos.com" / "podmonitor_v1.json").read_text())
    jsonschema.validate(monitor, schema)
    stack = yaml.safe_load((REPO / "deploy" / "k8s" / "kube-prometheus-stack-values.yaml").read_text())
    selector = stack["prometheus"]["prometheusSpec"]["podMonitorSelector"]["matchLabels"]
    assert selector.items() <= monitor["metadata"]["labels"].items()
    scrape = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    rabbit = next(job for job in scrape["scrape_configs"] if job["job_name"] == "rabbitmq")
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == rabbit["metrics_path"]
    assert endpoint["port"] == "prometheus"


def test_a_broken_podmonitor_is_refused() -> None:
    """The schema check fails on a PodMonitor whose endpoint path has the wrong type."""
    monitor = yaml.safe_load(MONITOR.read_text())
    monitor["spec"]["podMetricsEndpoints"][0]["path"] = ["/metrics"]
    schema = json.loads((crd_schema_dir() / "monitoring.coreos.com" / "podmonitor_v1.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, schema)
