"""The rendered workloads survive upgrades and disruptions: every Deployment and StatefulSet has a
PodDisruptionBudget selecting its pods, selectors hold only the stable labels (name, instance, component), every
Service selects some workload's pods, and the Reelscope services roll out without ever dropping below their desired
count (the documented exception: ingest on SQLite is recreated, one writer at a time). Each check returns its problems
and is shown to find the mistake it looks for."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Objects, Renderer

pytestmark = pytest.mark.unit

STABLE = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
SERVICES = {"ingest", "transcode", "transcription", "notification"}
COMPONENT = "app.kubernetes.io/component"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}
# Every object carries these (templates/_helpers.tpl "reelscope.labels").
STANDARD_LABELS = STABLE | {"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "helm.sh/chart"}


def name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels") or {}
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) selects pods with these labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def pdb_problems(objects: Objects) -> list[str]:
    """Deployments and StatefulSets without a PodDisruptionBudget whose selector matches their pod labels."""
    budgets = [obj for obj in objects if obj["kind"] == "PodDisruptionBudget"]
    return [
        f"{name(obj)}: no PodDisruptionBudget selects its pods"
        for obj in objects
        if obj["kind"] in {"Deployment", "StatefulSet"}
        and not any(selects(b["spec"]["selector"], pod_labels(obj)) for b in budgets)
    ]


def selector_problems(objects: Objects) -> list[str]:
    """Selectors of workloads, PDBs, Services and topology spread holding anything but the three stable labels."""
    found: list[tuple[str, dict[str, Any] | None]] = []
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj["kind"] in WORKLOADS | {"PodDisruptionBudget"}:
            found.append((f"{name(obj)} spec.selector", spec.get("selector")))
        if obj["kind"] == "Service":
            found.append((f"{name(obj)} spec.selector", {"matchLabels": spec.get("selector")}))
        if obj["kind"] in WORKLOADS:
            for constraint in spec["template"]["spec"].get("topologySpreadConstraints") or []:
                found.append((f"{name(obj)} topologySpreadConstraints", constraint.get("labelSelector")))
    problems = []
    for where, selector in found:
        if not selector or set(selector) != {"matchLabels"}:
            problems.append(f"{where}: must be matchLabels only, is {selector}")
        elif set(selector["matchLabels"] or {}) != STABLE:
            problems.append(f"{where}: keys {sorted(selector['matchLabels'] or {})}, expected exactly {sorted(STABLE)}")
    return problems


def service_problems(objects: Objects) -> list[str]:
    """Services whose selector matches no rendered workload's pods."""
    pods = [pod_labels(obj) for obj in objects if obj["kind"] in WORKLOADS]
    return [
        f"{name(obj)}: selects no workload's pods"
        for obj in objects
        if obj["kind"] == "Service"
        and not any(selects({"matchLabels": obj["spec"].get("selector")}, labels) for labels in pods)
    ]


def uses_sqlite(deployment: dict[str, Any]) -> bool:
    return any(
        e["name"] == "REELSCOPE_DATABASE_URL" and str(e.get("value", "")).startswith("sqlite")
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for e in c.get("env") or []
    )


def rollout_problems(objects: Objects) -> list[str]:
    """Reelscope service Deployments whose rolling update may drop capacity (Recreate only for ingest on SQLite)."""
    problems = []
    for obj in objects:
        component = obj["metadata"]["labels"].get(COMPONENT)
        if obj["kind"] != "Deployment" or component not in SERVICES:
            continue
        strategy = obj["spec"].get("strategy") or {}
        if strategy.get("type") == "Recreate" and component == "ingest" and uses_sqlite(obj):
            continue
        rolling = strategy.get("rollingUpdate") or {}
        if strategy.get("type") != "RollingUpdate" or rolling.get("maxUnavailable") not in (0, "0%"):
            problems.append(f"{name(obj)}: strategy {strategy} may drop capacity (needs maxUnavailable 0)")
    return problems


def label_problems(objects: Objects) -> list[str]:
    """Objects missing one of the chart's standard labels."""
    return [
        f"{name(obj)}: missing labels {sorted(STANDARD_LABELS - set(obj['metadata'].get('labels') or {}))}"
        for obj in objects
        if not set(obj["metadata"].get("labels") or {}) >= STANDARD_LABELS
    ]


Check = Callable[[Objects], list[str]]
CHECKS: dict[str, Check] = {
    "pdb": pdb_problems,
    "selectors": selector_problems,
    "services": service_problems,
    "rollout": rollout_problems,
    "labels": label_problems,
}


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_every_workload_follows_the_rule(objects: Objects, check: str) -> None:
    """The rendered objects pass this check for this ci file (the check's docstring states the rule)."""
    assert CHECKS[check](objects) == []


def of(objects: Objects, kind: str, component: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["labels"][COMPONENT] == component)


def drop_pdb(objects: Objects) -> None:
    objects.remove(of(objects, "PodDisruptionBudget", "transcode"))


def unstable_selector(objects: Objects) -> None:
    of(objects, "Deployment", "transcode")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/version"] = "0.1.0"


def orphan_service(objects: Objects) -> None:
    of(objects, "Service", "transcode")["spec"]["selector"][COMPONENT] = "transcoder"


def capacity_dropping_rollout(objects: Objects) -> None:
    of(objects, "Deployment", "transcode")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1


def recreate_without_sqlite(objects: Objects) -> None:
    of(objects, "Deployment", "notification")["spec"]["strategy"] = {"type": "Recreate"}


def unlabelled(objects: Objects) -> None:
    of(objects, "Service", "transcode")["metadata"]["labels"].pop("helm.sh/chart")


MISTAKES: dict[str, tuple[str, Callable[[Objects], None]]] = {
    "missing PDB": ("pdb", drop_pdb),
    "version in a selector": ("selectors", unstable_selector),
    "Service selecting nothing": ("services", orphan_service),
    "maxUnavailable 1": ("rollout", capacity_dropping_rollout),
    "Recreate off SQLite": ("rollout", recreate_without_sqlite),
    "label missing": ("labels", unlabelled),
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_check_finds_the_mistake(render: Renderer, mistake: str) -> None:
    """Each check reports objects broken in the way it looks for (so a passing check means something)."""
    check, mutate = MISTAKES[mistake]
    objects = copy.deepcopy(render("default-values.yaml"))
    assert CHECKS[check](objects) == []
    mutate(objects)
    assert CHECKS[check](objects) != []


def test_ingest_is_recreated_on_sqlite_and_rolled_with_postgresql(render: Renderer) -> None:
    """The exception is real and narrow: SQLite ingest is Recreate, PostgreSQL ingest rolls with maxUnavailable 0."""
    assert of(render("default-values.yaml"), "Deployment", "ingest")["spec"]["strategy"]["type"] == "Recreate"
    strategy = of(render("external-values.yaml"), "Deployment", "ingest")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
