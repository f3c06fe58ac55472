"""What offline schema validation cannot see but a real cluster would: KEDA reaching RabbitMQ from its own namespace,
the scrape jobs the alerts select on under kube-prometheus-stack, who may reach the management API, pods that a
version bump alone does not restart, workload identity, and mixed bundled/external setups that cannot work."""

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from reelscope_ingest.core.config import ApiKeySettings
from reelscope_ingest.core.keys import KEY_PATTERN, load_declared_keys
from reelscope_notification.config import NotificationSettings

from .conftest import CHART, NEWEST, RELEASE, REPO, Helm

pytestmark = pytest.mark.unit

KEDA = ["--set", "autoscaling.keda=true", "--set", "components.transcode.autoscaling.enabled=true"]
MONITORS = ["--set", "monitoring.serviceMonitor.enabled=true", "--set", "monitoring.podMonitor.enabled=true"]


def render(helm: Helm, *args: str) -> list[dict[str, Any]]:
    result = helm("template", RELEASE, str(CHART), "--namespace", "media", "--kube-version", NEWEST, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def refusal(helm: Helm, *args: str) -> str:
    result = helm("template", RELEASE, str(CHART), "--kube-version", NEWEST, *args)
    assert result.returncode != 0, "the chart rendered a configuration it should refuse"
    return result.stderr


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"{kind} {name} is not rendered"
    return found[0]


def test_keda_reaches_the_bundled_broker_by_its_full_name(helm: Helm) -> None:
    """The management URL KEDA reads names the Service with its namespace (KEDA resolves from its own namespace)."""
    secret = named(render(helm, *KEDA), "Secret", f"{RELEASE}-reelscope-rabbitmq")
    assert "@rabbitmq.media.svc:15672/" in secret["stringData"]["management-url"]


def test_scrape_jobs_are_the_ones_the_alerts_select(helm: Helm) -> None:
    """Under kube-prometheus-stack the collector's and RabbitMQ's scrapes carry the job names prometheus.yml gives
    them, which the `up{job=…}` alerts select (else CollectorDown and RabbitMQDown could never fire)."""
    objects = render(helm, *MONITORS)
    jobs = {
        relabel["replacement"]
        for monitor in objects
        if monitor["kind"] in {"ServiceMonitor", "PodMonitor"}
        for endpoint in monitor["spec"].get("endpoints", []) + monitor["spec"].get("podMetricsEndpoints", [])
        for relabel in endpoint.get("relabelings", [])
        if relabel.get("targetLabel") == "job"
    }
    rules = "".join(path.read_text() for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")))
    selectors = re.findall(r'up\{job=(~?)"([^"]+)"\}', rules)
    assert selectors, "no up{job=...} alert found"
    for regex, value in selectors:
        assert any(re.fullmatch(value, job) if regex else job == value for job in jobs), (value, jobs)
    scrape = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    assert jobs <= {job["job_name"] for job in scrape["scrape_configs"]}


def management_port_open(objects: list[dict[str, Any]]) -> bool:
    policy = named(objects, "NetworkPolicy", f"{RELEASE}-reelscope-rabbitmq")
    return any(port["port"] == 15672 for rule in policy["spec"]["ingress"] for port in rule.get("ports", []))


def test_the_management_api_is_open_only_to_keda(helm: Helm) -> None:
    """RabbitMQ's management port admits nobody without KEDA, and only KEDA's namespace with it."""
    assert not management_port_open(render(helm))
    objects = render(helm, *KEDA)
    assert management_port_open(objects)
    policy = named(objects, "NetworkPolicy", f"{RELEASE}-reelscope-rabbitmq")
    [rule] = [r for r in policy["spec"]["ingress"] if any(p["port"] == 15672 for p in r["ports"])]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}}]


def test_a_version_bump_alone_restarts_no_pod(helm: Helm, tmp_path: Path) -> None:
    """A chart whose version and appVersion changed, with the same values, leaves the backends' and the collector's
    pod templates unchanged (no version labels, checksums over configuration data only): RabbitMQ, MinIO and the
    rest do not restart for nothing. Our four services do roll: their resources name the chart version."""
    bumped = tmp_path / "reelscope"
    shutil.copytree(CHART, bumped, symlinks=False)
    chart = (bumped / "Chart.yaml").read_text()
    (bumped / "Chart.yaml").write_text(re.sub(r"(?m)^(version|appVersion): .*$", r'\1: "9.9.9"', chart))

    def pod_templates(chart_dir: Path) -> dict[str, Any]:
        result = helm("template", RELEASE, str(chart_dir), "--kube-version", NEWEST, "--set", "image.tag=0.1.0")
        assert result.returncode == 0, result.stderr
        return {
            o["metadata"]["name"]: o["spec"]["template"]
            for o in yaml.safe_load_all(result.stdout)
            if o and o["kind"] in {"Deployment", "StatefulSet"}
        }

    before, after = pod_templates(CHART), pod_templates(bumped)
    assert len(before) >= 10
    changed = sorted(name for name in before if before[name] != after[name])
    services = ["ingest", "notification", "transcode", "transcription"]
    assert changed == [f"{RELEASE}-reelscope-{service}" for service in services]


def test_workload_identity_reaches_the_service_account_and_pods(helm: Helm) -> None:
    """serviceAccountAnnotations and podLabels land on the component's ServiceAccount and pods."""
    objects = render(
        helm,
        "--set", "components.transcode.serviceAccountAnnotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/r",
        "--set-string", "components.transcode.podLabels.azure\\.workload\\.identity/use=true",
    )  # fmt: skip
    account = named(objects, "ServiceAccount", f"{RELEASE}-reelscope-transcode")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}
    deployment = named(objects, "Deployment", f"{RELEASE}-reelscope-transcode")
    assert deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"


def test_ordinary_values_pass_the_schema(helm: Helm) -> None:
    """A GPU limit, a wildcard ingress host and a compound retention are accepted."""
    render(
        helm,
        "--set", "components.transcription.resources.limits.nvidia\\.com/gpu=1",
        "--set", "ingress.enabled=true", "--set", "ingress.host=*.example.com",
        "--set", "observability.prometheus.retention=1h30m",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "observability.tempo.enabled=false"], "telemetry.collector.tempoEndpoint"),
        (["--set", "observability.loki.enabled=false"], "telemetry.collector.lokiEndpoint"),
        (
            [
                "--set",
                "rabbitmq.bundled=false",
                "--set",
                "rabbitmq.existingSecret=mq",
                "--set",
                "networkPolicy.enabled=false",
            ],
            "observability.prometheus off",
        ),
    ],
    ids=["tempo-off-without-endpoint", "loki-off-without-endpoint", "bundled-prometheus-without-bundled-rabbitmq"],
)
def test_mixed_setups_that_cannot_work_are_refused(helm: Helm, arguments: list[str], message: str) -> None:
    """A bundled backend switched off with nothing in its place is refused with a message naming what to set."""
    assert message in refusal(helm, *arguments)


def test_notification_gets_a_signing_secret_it_accepts(helm: Helm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated webhook signing Secret feeds notification's REELSCOPE_WEBHOOK_SIGNING_SECRETS, and the value
    passes the service's own settings validation (without one, notification refuses to start)."""
    objects = render(helm)
    deployment = named(objects, "Deployment", f"{RELEASE}-reelscope-notification")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [env] = [e for e in container["env"] if e["name"] == "REELSCOPE_WEBHOOK_SIGNING_SECRETS"]
    reference = env["valueFrom"]["secretKeyRef"]
    secret = named(objects, "Secret", reference["name"])
    monkeypatch.setenv("REELSCOPE_WEBHOOK_SIGNING_SECRETS", secret["stringData"][reference["key"]])
    assert len(NotificationSettings().webhook_signing_secrets) == 1
    external = render(helm, "--set", "webhooks.existingSecret=hooks")
    assert not [o for o in external if o["kind"] == "Secret" and o["metadata"]["name"].endswith("-webhook-signing")]
    deployment = named(external, "Deployment", f"{RELEASE}-reelscope-notification")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [env] = [e for e in container["env"] if e["name"] == "REELSCOPE_WEBHOOK_SIGNING_SECRETS"]
    assert env["valueFrom"]["secretKeyRef"] == {"name": "hooks", "key": "signing-secrets"}


def test_ingest_gets_a_pepper_and_declared_keys_it_accepts(
    helm: Helm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The generated API keys Secret feeds ingest's REELSCOPE_API_KEY_PEPPER and the mounted
    REELSCOPE_API_KEYS_FILE; both pass ingest's own checks, and the declared key is the one `helm test` sends. With
    apiKeys.existingSecret, nothing is generated and ingest and the test Pod read that Secret instead."""
    objects = render(helm)
    deployment = named(objects, "Deployment", f"{RELEASE}-reelscope-ingest")
    pod_spec = deployment["spec"]["template"]["spec"]
    [container] = pod_spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    reference = env["REELSCOPE_API_KEY_PEPPER"]["valueFrom"]["secretKeyRef"]
    secret = named(objects, "Secret", reference["name"])
    monkeypatch.setenv("REELSCOPE_API_KEY_PEPPER", secret["stringData"][reference["key"]])
    assert len(ApiKeySettings().pepper.get_secret_value()) >= 32
    keys_file = Path(env["REELSCOPE_API_KEYS_FILE"]["value"])
    [mount] = [m for m in container["volumeMounts"] if keys_file.is_relative_to(m["mountPath"])]
    [volume] = [v for v in pod_spec["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == reference["name"]
    [item] = [i for i in volume["secret"]["items"] if i["path"] == str(keys_file.relative_to(mount["mountPath"]))]
    (tmp_path / "declared").write_text(secret["stringData"][item["key"]])
    [declared] = load_declared_keys(tmp_path / "declared")
    assert declared.key.get_secret_value() == secret["stringData"]["smoke-test-key"]
    assert KEY_PATTERN.fullmatch(declared.key.get_secret_value())
    assert {s.value for s in declared.scopes} == {"submit", "read"}
    [test_pod] = [o for o in objects if o["kind"] == "Pod" and o["metadata"]["name"].endswith("-smoke-test")]
    [test_env] = [e for e in test_pod["spec"]["containers"][0]["env"] if e["name"] == "REELSCOPE_API_KEY"]
    assert test_env["valueFrom"]["secretKeyRef"] == {"name": reference["name"], "key": "smoke-test-key"}
    external = render(helm, "--set", "apiKeys.existingSecret=keys")
    assert not [o for o in external if o["kind"] == "Secret" and o["metadata"]["name"].endswith("-api-keys")]
    deployment = named(external, "Deployment", f"{RELEASE}-reelscope-ingest")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [env_var] = [e for e in container["env"] if e["name"] == "REELSCOPE_API_KEY_PEPPER"]
    assert env_var["valueFrom"]["secretKeyRef"] == {"name": "keys", "key": "pepper"}
