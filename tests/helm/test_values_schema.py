"""values.schema.json turns a typo or a wrong type into a failed install naming the bad key, and the chart refuses
configurations that cannot work with a message saying what to set (templates/_validate.tpl)."""

import json

import pytest
import yaml

from .conftest import CHART, NEWEST, RELEASE, Helm

pytestmark = pytest.mark.unit


def template(helm: Helm, *args: str) -> tuple[int, str]:
    """`helm template` of the chart with extra arguments: (exit code, stderr)."""
    result = helm("template", RELEASE, str(CHART), "--kube-version", NEWEST, *args)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--set", "componets.ingest.replicas=2"], "componets"),
        (["--set", "components.ingest.replica=2"], "replica"),
        (["--set", "telemetry.collector.persistentQueue.enable=true"], "enable"),
        (["--set-string", "config.maxAttempts=lots"], "maxAttempts"),
        (["--set", "database.type=mysql"], "type"),
    ],
    ids=["misspelled-top-level", "misspelled-nested", "misspelled-deep", "wrong-type", "not-an-allowed-value"],
)
def test_schema_refuses_bad_values_naming_the_key(helm: Helm, arguments: list[str], named: str) -> None:
    """A misspelled key, a string for an integer or an unknown choice fails rendering with an error naming the key."""
    code, stderr = template(helm, *arguments)
    assert code != 0
    assert "schema" in stderr
    assert named in stderr, stderr


# Objects the schema leaves open on purpose: Kubernetes types passed through to the rendered objects, where
# kubernetes-validate (test_kubernetes_schemas.py) checks their fields strictly.
# resourceList takes any resource name (nvidia.com/gpu, ephemeral-storage…) but only quantities as values.
OPEN_ON_PURPOSE = {"/$defs/envList/items", "/$defs/resourceList"}


def test_every_object_in_the_schema_refuses_unknown_keys() -> None:
    """additionalProperties is false on every values object of values.schema.json, so a typo anywhere is caught."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects = []

    def visit(node: object, path: str) -> None:
        if isinstance(node, dict):
            is_object = node.get("type") == "object" or "properties" in node
            if is_object and "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(path or "/")
            for key, child in node.items():
                visit(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                visit(child, f"{path}/{index}")

    visit(schema, "")
    assert set(open_objects) - OPEN_ON_PURPOSE == set()


def test_every_value_is_in_the_schema() -> None:
    """values.yaml and values.schema.json describe the same keys (the defaults themselves pass the schema)."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    missing = []

    def visit(value: object, node: dict[str, object], path: str) -> None:
        if not isinstance(value, dict) or "properties" not in node:
            return
        properties = node["properties"]
        assert isinstance(properties, dict)
        for key, child in value.items():
            if key not in properties:
                missing.append(f"{path}.{key}")
            else:
                visit(child, properties[key], f"{path}.{key}")

    visit(values, schema, "")
    assert missing == []


# The chart's own refusals (networkPolicy off so each message is the first error rendering meets).
REFUSALS = {
    "rabbitmq-without-secret": (["--set", "rabbitmq.bundled=false"], "rabbitmq.existingSecret"),
    "postgresql-without-secret": (["--set", "database.type=postgresql"], "database.existingSecret"),
    "s3-without-bucket": (["--set", "storage.bundled=false", "--set", "storage.s3.bucket="], "bucket"),
    "ingest-hpa-on-sqlite": (["--set", "components.ingest.autoscaling.enabled=true"], "database.type=postgresql"),
    "scaledobject-without-keda": (["--set", "components.transcode.autoscaling.enabled=true"], "autoscaling.keda"),
    "no-telemetry-destination": (["--set", "telemetry.collector.enabled=false"], "telemetry.otlpEndpoint"),
}


@pytest.mark.parametrize("refusal", REFUSALS, ids=str)
def test_chart_refuses_an_unworkable_configuration_saying_what_to_set(helm: Helm, refusal: str) -> None:
    """Rendering fails with the chart's message naming the value to set."""
    arguments, named = REFUSALS[refusal]
    code, stderr = template(helm, "--set", "networkPolicy.enabled=false", *arguments)
    assert code != 0
    assert named in stderr, stderr


def test_external_rabbitmq_without_secret_names_the_secret_with_default_values(helm: Helm) -> None:
    """With every other value at its default, rabbitmq.bundled=false fails naming rabbitmq.existingSecret first."""
    code, stderr = template(helm, "--set", "rabbitmq.bundled=false")
    assert code != 0
    assert "rabbitmq.existingSecret" in stderr, stderr
