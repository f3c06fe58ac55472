"""docker-compose.yml is accepted by `docker-compose config`, mounts only files that exist, names services and
ports the way the configs it mounts expect them, publishes on 127.0.0.1 only and takes every secret from a file.
Each check is a function returning its problems, and is shown to find the mistake it looks for."""

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from reelscope_cli.stack.settings import repo_root

REPO = repo_root()
SECRETS_DIR = REPO / "deploy" / "compose" / "secrets"
# Service name → ports the repo's configs reach it on (prometheus.yml, grafana datasources, the collector's
# exporters, tempo's remote write, the services' environment). Also checked against those files below.
EXPECTED_PORTS = {
    "prometheus": {9090},
    "tempo": {3200, 4317},
    "loki": {3100},
    "otel-collector": {4317, 4318, 8888, 8889, 13133},
    "rabbitmq": {5672, 15692},
}
APP_SERVICES = {"ingest", "transcode", "transcription", "notification"}
SERVICES = {*APP_SERVICES, "alertmanager", "grafana", *EXPECTED_PORTS}
# Images without a shell or any HTTP client, so Docker cannot probe them (see the comments in docker-compose.yml).
UNPROBEABLE = {"otel-collector", "tempo"}
ONE_SHOT = {"volume-init"}
SECRET_NAME = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|credential|webhook_url)")
KNOWN_DEFAULT_USERINFO = {"guest:guest"}  # RabbitMQ's default account, on the compose network only


@cache
def _rendered() -> str:
    """`docker-compose config` with the defaults (no REELSCOPE_* overrides from the caller's environment)."""
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make setup` installs it (apt, --no-install-recommends)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REELSCOPE_", "COMPOSE_"))}
    result = subprocess.run(
        [binary, "-f", "docker-compose.yml", "config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(_rendered())
    return copy.deepcopy(config)


def _yaml(relative: str) -> Any:
    return yaml.safe_load((REPO / relative).read_text())


# --- checks -------------------------------------------------------------------------------------------------


def _mount_problems(config: dict[str, Any]) -> list[str]:
    """Bind mounts, secret files and Dockerfiles that are not files or directories inside the repo."""
    problems = []
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if not source.startswith("/"):
                continue  # a named volume
            path = Path(source)
            if not path.is_relative_to(REPO) or not path.exists():
                problems.append(f"{name}: mounts {source}, which is not in the repo")
        build = service.get("build")
        if build and not (Path(build["context"]) / build["dockerfile"]).is_file():
            problems.append(f"{name}: builds from {build['dockerfile']}, which does not exist")
    for name, secret in config.get("secrets", {}).items():
        if not Path(secret.get("file", "")).is_file():
            problems.append(f"secret {name}: {secret.get('file')} does not exist")
    return problems


def _build_problems(config: dict[str, Any]) -> list[str]:
    """Reelscope services not built from their own services/<name>/Dockerfile with the repo root as context (the
    images `make images` builds), or not named reelscope/<name>; anything else built locally."""
    problems = []
    for name, service in config["services"].items():
        build = service.get("build")
        if name not in APP_SERVICES:
            if build:
                problems.append(f"{name}: built locally; only the four Reelscope services are")
            continue
        if not build:
            problems.append(f"{name}: not built from the repo")
            continue
        if Path(build["context"]) != REPO or build.get("dockerfile") != f"services/{name}/Dockerfile":
            problems.append(f"{name}: builds {build.get('dockerfile')} in {build['context']}")
        if build.get("args"):
            problems.append(f"{name}: build args {build['args']} (each Dockerfile builds one service)")
        if not service.get("image", "").startswith(f"reelscope/{name}:"):
            problems.append(f"{name}: image {service.get('image')} is not reelscope/{name}:<tag>")
    return problems


def _container_ports(service: dict[str, Any]) -> set[int]:
    ports = {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in service.get("ports", [])}
    return ports | {int(p) for p in service.get("expose", [])}


def _port_problems(config: dict[str, Any], expected: dict[str, set[int]]) -> list[str]:
    """Services the configs expect that compose lacks, or that do not publish/expose the port expected."""
    problems = []
    for name, ports in expected.items():
        service = config["services"].get(name)
        if service is None:
            problems.append(f"no service named {name}")
            continue
        missing = ports - _container_ports(service)
        if missing:
            problems.append(f"{name}: ports {sorted(missing)} neither published nor exposed")
    return problems


def _loopback_problems(config: dict[str, Any]) -> list[str]:
    """Published ports that bind anything but 127.0.0.1."""
    problems = []
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            parts = str(port).split(":")
            if len(parts) != 3 or parts[0] != "127.0.0.1":
                problems.append(f"{name}: {port} is not bound to 127.0.0.1")
    return problems


def _secret_problems(config: dict[str, Any], alertmanager_paths: set[str]) -> list[str]:
    """Secrets that are not files, defaults that are not the committed placeholders, secret-looking values written
    into the environment, and Alertmanager secret paths that do not match what alertmanager.yml reads."""
    problems = []
    for name, secret in config.get("secrets", {}).items():
        source = Path(secret.get("file", ""))
        if "file" not in secret:
            problems.append(f"secret {name} is not read from a file")
        elif source.parent != SECRETS_DIR or source.suffix != ".example":
            problems.append(f"secret {name} defaults to {source}, not a placeholder in {SECRETS_DIR}")
    for name, service in config["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(key) and not (key.endswith("_FILE") and value.startswith("/run/secrets/")):
                problems.append(f"{name}: {key} holds a value; secrets come from files (…_FILE=/run/secrets/…)")
            userinfo = urlsplit(value).netloc.rpartition("@")[0] if "://" in value else ""
            if userinfo and userinfo not in KNOWN_DEFAULT_USERINFO:
                problems.append(f"{name}: {key} carries credentials in its URL")
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                mounted = {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}
                if value.removeprefix("/run/secrets/") not in mounted:
                    problems.append(f"{name}: {key} names a secret the service does not mount")
    targets = {s["target"] for s in config["services"]["alertmanager"].get("secrets", []) if isinstance(s, dict)}
    if targets != alertmanager_paths:
        problems.append(f"alertmanager secrets mounted at {sorted(targets)}, read from {sorted(alertmanager_paths)}")
    return problems


def _health_problems(config: dict[str, Any]) -> list[str]:
    """Long-running services without a healthcheck (bar the unprobeable), and healthy-conditions on services
    that have none."""
    problems = []
    services = config["services"]
    for name, service in services.items():
        if name not in UNPROBEABLE | ONE_SHOT and "healthcheck" not in service:
            problems.append(f"{name}: no healthcheck")
        for target, dependency in (service.get("depends_on") or {}).items():
            if dependency.get("condition") == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{name}: waits for {target} to be healthy, which has no healthcheck")
    return problems


# --- helpers reading the configs compose mounts -----------------------------------------------------------------


def _alertmanager_secret_paths() -> set[str]:
    paths: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str) and "/secrets/" in value:
                    paths.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(_yaml("prometheus/alertmanager/alertmanager.yml"))
    return paths


def _host_port(address: str, default_port: int | None = None) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"//{address}")
    assert parts.hostname, address
    return parts.hostname, parts.port or default_port or 0


def _references_in_configs() -> dict[str, set[int]]:
    """Every service:port the mounted configs and the services' environment point at."""
    refs: list[tuple[str, int]] = []
    prometheus = _yaml("prometheus/prometheus.yml")
    refs += [_host_port(t) for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    refs += [_host_port(d["url"]) for d in _yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]]
    refs += [_host_port(w["url"]) for w in _yaml("tempo/tempo.yaml")["metrics_generator"]["storage"]["remote_write"]]
    exporters = _yaml("otel-collector/config.yaml")["exporters"]
    default = re.compile(r"\$\{env:\w+:-([^}]+)\}")
    refs += [
        _host_port(default.sub(r"\1", e["endpoint"])) for e in exporters.values() if "MY_POD_IP" not in e["endpoint"]
    ]
    for service in _config()["services"].values():
        for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "REELSCOPE_AMQP_URL"):
            if key in (service.get("environment") or {}):
                refs.append(_host_port(service["environment"][key]))
    found: dict[str, set[int]] = {}
    for host, port in refs:
        found.setdefault(host, set()).add(port)
    return found


# --- tests ---------------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_docker_compose_accepts_the_file_and_it_defines_the_whole_stack() -> None:
    """`docker-compose config` exits 0 and lists RabbitMQ, the four services and the observability stack."""
    assert set(_config()["services"]) >= SERVICES


@pytest.mark.unit
def test_every_mounted_file_exists_in_the_repo() -> None:
    """Every bind mount, secret file and Dockerfile compose refers to exists in the repo."""
    assert _mount_problems(_config()) == []


@pytest.mark.unit
def test_each_service_builds_from_its_own_dockerfile() -> None:
    """ingest, transcode, transcription and notification build services/<name>/Dockerfile from the repo root,
    without build args, as reelscope/<name>:compose; nothing else is built."""
    assert _build_problems(_config()) == []
    assert not (REPO / "deploy" / "compose" / "Dockerfile").exists(), "the interim single recipe is gone"


@pytest.mark.unit
def test_service_names_and_ports_match_the_configs() -> None:
    """Each service:port that prometheus.yml, the Grafana datasources, the collector, Tempo and the services use
    is a compose service publishing or exposing that port."""
    references = _references_in_configs()
    assert set(references) == set(EXPECTED_PORTS)
    assert all(ports <= EXPECTED_PORTS[host] for host, ports in references.items()), references
    assert _port_problems(_config(), EXPECTED_PORTS) == []
    assert _port_problems(_config(), references) == []


@pytest.mark.unit
def test_published_ports_bind_loopback_only() -> None:
    """Every published port binds 127.0.0.1 (and the stack does publish the UIs and APIs)."""
    config = _config()
    assert sum(len(s.get("ports", [])) for s in config["services"].values()) >= 10
    assert _loopback_problems(config) == []


@pytest.mark.unit
def test_no_secret_values_are_committed() -> None:
    """Secrets come from files (placeholders by default, matching alertmanager.yml's paths); the directory holds
    only placeholders; no secret value is written into the environment."""
    assert _secret_problems(_config(), _alertmanager_secret_paths()) == []
    # What git holds or would take (real secrets placed beside the examples are ignored by its .gitignore).
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", str(SECRETS_DIR)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    committed = sorted(Path(line).name for line in listed.stdout.splitlines())
    assert committed
    assert all(n.endswith(".example") or n == ".gitignore" for n in committed), committed
    assert all("example" in (SECRETS_DIR / n).read_text() for n in committed if n.endswith(".example"))


@pytest.mark.unit
def test_healthchecks_guard_every_healthy_condition() -> None:
    """Every long-running service that can be probed has a healthcheck; every `service_healthy` wait has one."""
    assert _health_problems(_config()) == []


@pytest.mark.unit
def test_prometheus_grafana_and_collector_are_started_as_documented() -> None:
    """Prometheus keeps exemplars and takes remote write; Grafana's anonymous access is off and its admin password
    a secret; the collector runs config.yaml unchanged plus the compose override."""
    services = _config()["services"]
    assert {"--enable-feature=exemplar-storage", "--web.enable-remote-write-receiver"} <= set(
        services["prometheus"]["command"]
    )
    grafana = services["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana-admin-password"
    collector = services["otel-collector"]
    assert collector["image"] == "otel/opentelemetry-collector-contrib:0.155.0"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in collector["volumes"]}
    configs = [arg.removeprefix("--config=") for arg in collector["command"]]
    assert [mounts[c] for c in configs] == [
        str(REPO / "otel-collector" / "config.yaml"),
        str(REPO / "deploy" / "compose" / "otel-collector.compose.yaml"),
    ]


@pytest.mark.unit
def test_collector_override_only_drops_k8s_attributes() -> None:
    """Each pipeline in the compose override is config.yaml's pipeline without k8s_attributes, in the same order."""
    base = _yaml("otel-collector/config.yaml")["service"]["pipelines"]
    override = _yaml("deploy/compose/otel-collector.compose.yaml")["service"]["pipelines"]
    assert set(override) == set(base)
    for name, pipeline in base.items():
        assert "k8s_attributes" in pipeline["processors"]
        assert override[name]["processors"] == [p for p in pipeline["processors"] if p != "k8s_attributes"]


@pytest.mark.integration
def test_collector_accepts_the_production_config_with_the_compose_override(collector_binary: Path) -> None:
    """The real collector (same release as the image) validates config.yaml merged with the compose override."""
    result = subprocess.run(
        [
            str(collector_binary),
            "validate",
            "--config",
            str(REPO / "otel-collector" / "config.yaml"),
            "--config",
            str(REPO / "deploy" / "compose" / "otel-collector.compose.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.unit
def test_each_check_finds_its_mistake() -> None:
    """Break the rendered config one way at a time: the matching check reports it."""
    good = _config()
    paths = _alertmanager_secret_paths()

    broken = _config()
    broken["services"]["prometheus"]["volumes"][0] = f"{REPO}/prometheus/nope.yml:/etc/prometheus/prometheus.yml:ro"
    assert _mount_problems(broken)
    assert not _mount_problems(good)
    broken = _config()
    broken["secrets"]["grafana-admin-password"]["file"] = str(SECRETS_DIR / "missing.example")
    assert _mount_problems(broken)

    assert not _build_problems(good)
    builds: list[Callable[[dict[str, Any]], object]] = [
        lambda c: c["services"]["transcode"]["build"].update(dockerfile="services/ingest/Dockerfile"),
        lambda c: c["services"]["ingest"]["build"].update(dockerfile="deploy/compose/Dockerfile"),
        lambda c: c["services"]["ingest"]["build"].update(args={"SERVICE": "ingest"}),
        lambda c: c["services"]["notification"]["build"].update(context=str(REPO / "services")),
        lambda c: c["services"]["notification"].update(image="reelscope/ingest:compose"),
        lambda c: c["services"]["transcription"].pop("build"),
        lambda c: c["services"]["grafana"].update(build={"context": str(REPO)}),
    ]
    for mutate in builds:
        broken = _config()
        mutate(broken)
        assert _build_problems(broken)

    broken = _config()
    broken["services"]["loki-renamed"] = broken["services"].pop("loki")
    assert _port_problems(broken, EXPECTED_PORTS)
    broken = _config()
    broken["services"]["tempo"]["expose"] = []
    assert _port_problems(broken, EXPECTED_PORTS)

    broken = _config()
    broken["services"]["grafana"]["ports"] = ["0.0.0.0:3000:3000/tcp"]
    assert _loopback_problems(broken)
    assert not _loopback_problems(good)
    broken["services"]["grafana"]["ports"] = ["3000:3000/tcp"]
    assert _loopback_problems(broken)

    assert not _secret_problems(good, paths)
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda c: c["services"]["grafana"]["environment"].update(GF_SECURITY_ADMIN_PASSWORD="hunter2"),
        lambda c: c["services"]["ingest"]["environment"].update(REELSCOPE_AMQP_URL="amqp://app:s3cret@rabbitmq/"),
        lambda c: c["secrets"]["alertmanager-webhook-token"].update(file=str(REPO / "token.txt")),
        lambda c: c["services"]["alertmanager"]["secrets"].pop(),
        lambda c: c["services"]["grafana"].update(secrets=[]),
    ]
    for mutate in mutations:
        broken = _config()
        mutate(broken)
        assert _secret_problems(broken, paths)

    broken = _config()
    del broken["services"]["loki"]["healthcheck"]
    assert _health_problems(broken)
    assert not _health_problems(good)


def _stub(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def _run_compose_script(bin_dir: Path, action: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    script = REPO / "deploy" / "compose" / "compose.sh"
    return subprocess.run(
        ["bash", str(script), action], env=env, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.unit
def test_compose_targets_fail_clearly_without_a_docker_engine(tmp_path: Path) -> None:
    """With compose installed but no engine answering, `make compose-up` exits 1 saying so, and starts nothing."""
    calls = tmp_path / "calls"
    _stub(tmp_path, "docker", f'echo "$*" >> {calls}\ncase "$1 $2" in "compose version") exit 0;; esac\nexit 1')
    result = _run_compose_script(tmp_path, "up")
    assert result.returncode == 1
    assert "no Docker engine answers" in result.stderr
    assert "up" not in [line.split()[1] for line in calls.read_text().splitlines() if line.startswith("compose ")]


@pytest.mark.unit
def test_compose_targets_run_the_root_compose_file_when_an_engine_answers(tmp_path: Path) -> None:
    """With an engine answering, compose-up builds and starts docker-compose.yml detached; compose-down stops it."""
    calls = tmp_path / "calls"
    _stub(tmp_path, "docker", f'echo "$*" >> {calls}\nexit 0')
    assert _run_compose_script(tmp_path, "up").returncode == 0
    assert _run_compose_script(tmp_path, "down").returncode == 0
    lines = calls.read_text().splitlines()
    assert "compose -f docker-compose.yml up --detach --build" in lines
    assert "compose -f docker-compose.yml down" in lines
