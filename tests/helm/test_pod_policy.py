"""Every pod the chart renders (Deployments, StatefulSets, DaemonSets, Jobs, Pods) follows the chart's rules:
requests and limits for cpu and memory on every container, startup/liveness/readiness probes on every long-running
one, the restricted security context, nothing from the host, pinned images, a service-account token only where a
role is bound, and for the four services a termination grace longer than their drain and OTEL_SERVICE_NAME equal to
the component label. Each check returns its problems and is shown to find the mistake it looks for."""

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import Objects, Renderer

pytestmark = pytest.mark.unit

SERVICES = {"ingest", "transcode", "transcription", "notification"}
COMPONENT = "app.kubernetes.io/component"
# terminationGracePeriodSeconds must exceed the drain (REELSCOPE_SHUTDOWN_GRACE_S) by more than this.
GRACE_MARGIN_S = 10


@dataclass(frozen=True)
class PodTemplate:
    """A pod spec with the object it belongs to."""

    owner: dict[str, Any]
    metadata: dict[str, Any]
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.owner['kind']}/{self.owner['metadata']['name']}"

    @property
    def component(self) -> str | None:
        labels: dict[str, str] = self.metadata.get("labels") or {}
        return labels.get(COMPONENT)

    @property
    def long_running(self) -> bool:
        """Not a Job's pod and not a Helm hook (the `helm test` Pod): its containers should be probed."""
        annotations = self.owner["metadata"].get("annotations") or {}
        return self.owner["kind"] not in {"Job", "CronJob"} and "helm.sh/hook" not in annotations

    def containers(self, *, init: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
        """(where, container) for the main containers and, unless init=False, the init containers."""
        keys = ("containers", "initContainers") if init else ("containers",)
        for key in keys:
            for container in self.spec.get(key) or []:
                yield f"{self.name} {key[:-1]} {container['name']}", container


def pod_templates(objects: Objects) -> list[PodTemplate]:
    """The pod spec of every workload and bare Pod among the objects."""
    templates = []
    for obj in objects:
        kind = obj["kind"]
        if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
            template = obj["spec"]["template"]
        elif kind == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            template = obj
        else:
            continue
        templates.append(PodTemplate(obj, template.get("metadata") or {}, template["spec"]))
    return templates


def resource_problems(objects: Objects) -> list[str]:
    """Containers (init containers included) missing a cpu or memory request or limit."""
    return [
        f"{where}: no resources.{kind}.{resource}"
        for pod in pod_templates(objects)
        for where, container in pod.containers()
        for kind in ("requests", "limits")
        for resource in ("cpu", "memory")
        if resource not in ((container.get("resources") or {}).get(kind) or {})
    ]


def probe_problems(objects: Objects) -> list[str]:
    """Long-running containers (not init containers, Jobs or hooks) missing a startup, liveness or readiness probe."""
    return [
        f"{where}: no {probe}"
        for pod in pod_templates(objects)
        if pod.long_running
        for where, container in pod.containers(init=False)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
        if probe not in container
    ]


def security_problems(objects: Objects) -> list[str]:
    """Departures from the restricted Pod Security Standard, per container, the pod's settings taken into account."""
    problems = []
    for pod in pod_templates(objects):
        pod_context = pod.spec.get("securityContext") or {}
        for where, container in pod.containers():
            context = container.get("securityContext") or {}
            effective = {**pod_context, **context}
            if effective.get("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if effective.get("runAsUser") == 0:
                problems.append(f"{where}: runs as uid 0")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if context.get("privileged"):
                problems.append(f"{where}: privileged")
            if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where}: capabilities.drop lacks ALL")
            if set((context.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}:
                problems.append(f"{where}: adds capabilities {context['capabilities']['add']}")
            if (effective.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile is not RuntimeDefault")
    return problems


def host_problems(objects: Objects) -> list[str]:
    """Pods using the host's network, PID or IPC namespace, or a hostPath volume."""
    problems = []
    for pod in pod_templates(objects):
        problems += [f"{pod.name}: {key}" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(key)]
        problems += [
            f"{pod.name}: hostPath volume {volume['name']}"
            for volume in pod.spec.get("volumes") or []
            if "hostPath" in volume
        ]
        problems += [
            f"{where}: hostPort {port['hostPort']}"
            for where, container in pod.containers()
            for port in container.get("ports") or []
            if port.get("hostPort")
        ]
    return problems


def image_problems(objects: Objects) -> list[str]:
    """Images without a tag or digest, or tagged latest."""
    problems = []
    for pod in pod_templates(objects):
        for where, container in pod.containers():
            image: str = container["image"]
            last = image.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            if "@sha256:" not in image and (not tag or tag == "latest"):
                problems.append(f"{where}: image {image} is not pinned")
    return problems


def token_problems(objects: Objects) -> list[str]:
    """Pods that mount a service-account token although no (Cluster)RoleBinding in the release binds their account."""
    accounts = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "ServiceAccount"}
    bound = {
        subject["name"]
        for obj in objects
        if obj["kind"] in {"RoleBinding", "ClusterRoleBinding"}
        for subject in obj.get("subjects") or []
        if subject.get("kind") == "ServiceAccount"
    }
    problems = []
    for pod in pod_templates(objects):
        account = pod.spec.get("serviceAccountName") or "default"
        automount = pod.spec.get("automountServiceAccountToken")
        if automount is None:
            automount = (accounts.get(account) or {}).get("automountServiceAccountToken", True)
        if automount and account not in bound:
            problems.append(f"{pod.name}: mounts the token of {account}, which no role binding in the release uses")
    return problems


def env_value(container: dict[str, Any], name: str, objects: Objects) -> str | None:
    """A container's environment variable: its env entry, else a ConfigMap it takes with envFrom."""
    for entry in container.get("env") or []:
        if entry["name"] == name:
            return str(entry["value"]) if "value" in entry else None
    config_maps = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "ConfigMap"}
    for source in container.get("envFrom") or []:
        config_map = config_maps.get((source.get("configMapRef") or {}).get("name", ""))
        if config_map and name in (config_map.get("data") or {}):
            return str(config_map["data"][name])
    return None


def service_pods(objects: Objects) -> list[PodTemplate]:
    return [pod for pod in pod_templates(objects) if pod.owner["kind"] == "Deployment" and pod.component in SERVICES]


def grace_problems(objects: Objects) -> list[str]:
    """Reelscope services whose terminationGracePeriodSeconds is not above REELSCOPE_SHUTDOWN_GRACE_S + 10."""
    problems = []
    for pod in service_pods(objects):
        container = next(c for _, c in pod.containers(init=False) if c["name"] == pod.component)
        drain = env_value(container, "REELSCOPE_SHUTDOWN_GRACE_S", objects)
        if drain is None:
            problems.append(f"{pod.name}: REELSCOPE_SHUTDOWN_GRACE_S is not set")
            continue
        grace = pod.spec.get("terminationGracePeriodSeconds", 30)
        if not grace > float(drain) + GRACE_MARGIN_S:
            problems.append(f"{pod.name}: terminationGracePeriodSeconds {grace} <= drain {drain} + {GRACE_MARGIN_S}")
    return problems


def service_name_problems(objects: Objects) -> list[str]:
    """Containers whose OTEL_SERVICE_NAME differs from their pod's component label; services that set none."""
    problems = []
    for pod in pod_templates(objects):
        for where, container in pod.containers():
            names = [e.get("value") for e in container.get("env") or [] if e["name"] == "OTEL_SERVICE_NAME"]
            if pod in service_pods(objects) and container["name"] == pod.component and not names:
                problems.append(f"{where}: no OTEL_SERVICE_NAME")
            problems += [
                f"{where}: OTEL_SERVICE_NAME {n!r} != component {pod.component!r}" for n in names if n != pod.component
            ]
    return problems


Check = Callable[[Objects], list[str]]
CHECKS: dict[str, Check] = {
    "resources": resource_problems,
    "probes": probe_problems,
    "security": security_problems,
    "host": host_problems,
    "images": image_problems,
    "token": token_problems,
    "grace": grace_problems,
    "service-name": service_name_problems,
}


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_every_pod_follows_the_rule(objects: Objects, check: str) -> None:
    """The rendered pods pass this check for this ci file (the check's docstring states the rule)."""
    assert CHECKS[check](objects) == []


def test_every_ci_file_renders_the_four_services(objects: Objects) -> None:
    """The policy checks have pods to look at: the four services are rendered as Deployments."""
    assert {pod.component for pod in service_pods(objects)} == SERVICES


def first_service_deployment(objects: Objects, component: str = "transcode") -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["labels"][COMPONENT] == component)


def broken(render: Renderer, mutate: Callable[[dict[str, Any]], None], component: str = "transcode") -> Objects:
    """The default rendering with one service Deployment changed by `mutate` (its pod spec)."""
    objects = copy.deepcopy(render("default-values.yaml"))
    mutate(first_service_deployment(objects, component)["spec"]["template"]["spec"])
    return objects


def main(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = spec["containers"][0]
    return container


def allow_root(spec: dict[str, Any]) -> None:
    spec["securityContext"].pop("runAsNonRoot")
    main(spec)["securityContext"].pop("runAsNonRoot")


def unconfine(spec: dict[str, Any]) -> None:
    main(spec)["securityContext"]["seccompProfile"] = {"type": "Unconfined"}


def rename_service(spec: dict[str, Any]) -> None:
    for entry in main(spec)["env"]:
        if entry["name"] == "OTEL_SERVICE_NAME":
            entry["value"] = "transcoder"


MISTAKES: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "no memory limit": ("resources", lambda s: main(s)["resources"]["limits"].pop("memory")),
    "no cpu request": ("resources", lambda s: main(s)["resources"]["requests"].pop("cpu")),
    "no readiness probe": ("probes", lambda s: main(s).pop("readinessProbe")),
    "no startup probe": ("probes", lambda s: main(s).pop("startupProbe")),
    "root allowed": ("security", allow_root),
    "escalation": ("security", lambda s: main(s)["securityContext"].update(allowPrivilegeEscalation=True)),
    "writable root": ("security", lambda s: main(s)["securityContext"].pop("readOnlyRootFilesystem")),
    "capabilities kept": ("security", lambda s: main(s)["securityContext"]["capabilities"].update(drop=["NET_RAW"])),
    "unconfined seccomp": ("security", unconfine),
    "host network": ("host", lambda s: s.update(hostNetwork=True)),
    "hostPath": ("host", lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/var/run"}})),
    "untagged image": ("images", lambda s: main(s).update(image="ghcr.io/reelscope/transcode")),
    "latest image": ("images", lambda s: main(s).update(image="ghcr.io/reelscope/transcode:latest")),
    "unbound token": ("token", lambda s: s.update(automountServiceAccountToken=True)),
    "short grace": ("grace", lambda s: s.update(terminationGracePeriodSeconds=30)),
    "wrong service name": ("service-name", rename_service),
}  # fmt: skip


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_check_finds_the_mistake(render: Renderer, mistake: str) -> None:
    """Each check reports a pod broken in the way it looks for (so a passing check means something)."""
    check, mutate = MISTAKES[mistake]
    assert CHECKS[check](render("default-values.yaml")) == []
    assert CHECKS[check](broken(render, mutate)) != []


def test_probe_check_exempts_init_containers_jobs_and_the_test_hook(render: Renderer) -> None:
    """Init containers, Job pods and the `helm test` Pod are not required to have probes; everything else is."""
    objects = render("external-values.yaml") + render("default-values.yaml")
    exempt = [pod for pod in pod_templates(objects) if not pod.long_running]
    assert {pod.owner["kind"] for pod in exempt} >= {"Job", "Pod"}
    assert all(pod.owner["kind"] not in {"Deployment", "StatefulSet"} for pod in exempt)
