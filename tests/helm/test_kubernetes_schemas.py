"""Every rendered object is valid Kubernetes for the oldest and newest versions we support (kubernetes-validate,
strict: unknown fields are errors), and every custom resource is valid against its CRD's JSON schema. The CRD
schemas are data kept outside the repo (REELSCOPE_K8S_CRD_SCHEMAS, else ../shared/k8s-crd-schemas next to the
checkout, else /work/shared/k8s-crd-schemas); a custom resource kind without a schema fails, so none slips through."""

import copy
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest

from .conftest import CI_FILES, REPO, Objects, Renderer

pytestmark = pytest.mark.unit

# API groups of custom resources: validated against their CRD schemas, never by kubernetes-validate.
CUSTOM_GROUPS = {"monitoring.coreos.com", "keda.sh"}


def crd_schema_dir() -> Path:
    """Where the custom resources' JSON schemas are: the env variable, else the first default that exists."""
    configured = os.environ.get("REELSCOPE_K8S_CRD_SCHEMAS")
    candidates = [Path(configured)] if configured else [REPO.parent / "shared" / "k8s-crd-schemas",
                                                        Path("/work/shared/k8s-crd-schemas")]  # fmt: skip
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    pytest.fail(
        "No custom-resource schemas at " + ", ".join(map(str, candidates))
        + ": set REELSCOPE_K8S_CRD_SCHEMAS to a directory laid out as <group>/<kind>_<version>.json"
    )  # fmt: skip


def is_custom(obj: dict[str, Any]) -> bool:
    return str(obj["apiVersion"]).split("/")[0] in CUSTOM_GROUPS


def describe(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def kubernetes_problems(objects: Objects, version: str) -> list[str]:
    """Each built-in object kubernetes-validate (strict) refuses or has no schema for, with the reason."""
    problems = []
    for obj in objects:
        if is_custom(obj):
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(map(str, e.path))
            problems.append(f"{describe(obj)} (Kubernetes {e.version}): {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            problems.append(f"{describe(obj)}: {e.message}")
    return problems


def custom_resource_problems(objects: Objects, schemas: Path) -> list[str]:
    """Each custom resource its CRD schema refuses, or whose kind has no schema in `schemas`."""
    problems = []
    for obj in filter(is_custom, objects):
        group, version = str(obj["apiVersion"]).split("/")
        path = schemas / group / f"{str(obj['kind']).lower()}_{version}.json"
        if not path.is_file():
            problems.append(f"{describe(obj)}: no schema for {obj['apiVersion']} {obj['kind']} ({path} is missing)")
            continue
        schema = json.loads(path.read_text())
        validator_class = jsonschema.validators.validator_for(schema)
        for error in validator_class(schema).iter_errors(obj):
            problems.append(f"{describe(obj)}: {'.'.join(map(str, error.absolute_path))}: {error.message}")
    return problems


def test_every_object_is_valid_kubernetes(render: Renderer, ci_file: str, kube_version: str) -> None:
    """kubernetes-validate (strict) accepts every built-in object the chart renders with this file and version."""
    assert kubernetes_problems(render(ci_file, kube_version), kube_version) == []


def test_every_custom_resource_matches_its_crd_schema(render: Renderer, ci_file: str) -> None:
    """Every ServiceMonitor, PodMonitor, PrometheusRule, ScaledObject and TriggerAuthentication matches its schema."""
    assert custom_resource_problems(render(ci_file), crd_schema_dir()) == []


def test_every_custom_resource_kind_with_a_schema_is_rendered_by_some_ci_file(render: Renderer) -> None:
    """The ci files together render each custom resource kind the schema directory holds, so each is exercised."""
    rendered = {(obj["apiVersion"].split("/")[0], f"{obj['kind'].lower()}_{obj['apiVersion'].split('/')[1]}")
                for ci_file in CI_FILES for obj in render(ci_file) if is_custom(obj)}  # fmt: skip
    schemas = crd_schema_dir()
    available = {(p.parent.name, p.stem) for p in schemas.glob("*/*.json")}
    assert available - rendered == set()


def test_kubernetes_check_catches_an_unknown_field_and_a_wrong_type(render: Renderer) -> None:
    """The strict validation is not vacuous: a misspelled field and a string where an integer belongs are refused."""
    deployment = next(obj for obj in render("default-values.yaml") if obj["kind"] == "Deployment")
    misspelled = copy.deepcopy(deployment)
    misspelled["spec"]["replica"] = misspelled["spec"].pop("replicas", 1)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "forty"
    for broken in (misspelled, wrong_type):
        for version in ("1.29.0", kubernetes_validate.utils.latest_version()):
            assert kubernetes_problems([broken], version) != []


def test_kubernetes_check_refuses_an_unknown_built_in_kind() -> None:
    """An object whose apiVersion/kind has no Kubernetes schema is a failure, not silently skipped."""
    unknown = {"apiVersion": "apps/v1", "kind": "Deploymant", "metadata": {"name": "x"}}
    assert kubernetes_problems([unknown], "1.29.0") != []


def test_custom_resource_check_refuses_a_bad_resource_and_an_unknown_kind(render: Renderer) -> None:
    """A ScaledObject with a misspelled field fails its schema, and a custom kind with no schema fails outright."""
    scaled = next(obj for obj in render("external-values.yaml") if obj["kind"] == "ScaledObject")
    broken = copy.deepcopy(scaled)
    broken["spec"]["maxReplicaCount"] = "eight"
    assert custom_resource_problems([broken], crd_schema_dir()) != []
    probe = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Probe", "metadata": {"name": "x"}, "spec": {}}
    assert any("no schema" in p for p in custom_resource_problems([probe], crd_schema_dir()))
