"""Every collector config in the repo passes the real collector's `validate`, wires only components it
defines and defines none it does not use; the real collector masks secrets; Prometheus configs and rules
pass promtool."""

import gzip
import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import yaml
from reelscope_cli.stack.components import collector, collector_env, render_prometheus_config
from reelscope_cli.stack.processes import Component, ProcessManager, http_ok
from reelscope_cli.stack.settings import StackSettings, repo_root

pytestmark = pytest.mark.integration

COLLECTOR_DIR = repo_root() / "otel-collector"
OVERRIDES = ("config.overrides.yaml", "config.persistent-queue.yaml")
CONFIGS = sorted(p for p in COLLECTOR_DIR.glob("config*.yaml") if p.name not in OVERRIDES)
# Each entry: the files given to the collector as successive --config flags, as it is run somewhere.
CONFIG_SETS = [
    ("config.yaml",),
    ("config.yaml", "config.overrides.yaml"),
    ("config.yaml", "config.persistent-queue.yaml"),
    ("config.yaml", "config.overrides.yaml", "config.persistent-queue.yaml"),
    ("config.local.yaml",),
]
PULL_EXPORTERS = {"prometheus"}  # scraped, so there is nothing to retry


def _validate(binary: Path, *configs: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(binary), "validate"]
    for config in configs:
        argv += ["--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_collector_config_validates(collector_binary: Path, config: Path, stack_settings: StackSettings) -> None:
    """The built collector accepts each config (components exist, pipelines are wired)."""
    result = _validate(collector_binary, config, env=collector_env(stack_settings))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("files", [s for s in CONFIG_SETS if len(s) > 1], ids="+".join)
def test_production_config_with_overrides_validates(collector_binary: Path, files: tuple[str, ...]) -> None:
    """The documented override files (site overrides, persistent queue) merge cleanly over the production config."""
    result = _validate(collector_binary, *(COLLECTOR_DIR / name for name in files))
    assert result.returncode == 0, result.stderr


def test_validate_rejects_a_broken_config(collector_binary: Path, tmp_path: Path) -> None:
    """`validate` really checks: a pipeline naming an exporter that is not configured fails."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "receivers: {otlp: {protocols: {grpc: {}}}}\n"
        "exporters: {debug: {}}\n"
        "service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp_grpc/missing]}}}\n"
    )
    assert _validate(collector_binary, broken).returncode != 0


def test_builder_manifest_lists_every_component_the_configs_use(collector_binary: Path) -> None:
    """The binary built from the manifest knows every component type our configs reference."""
    result = subprocess.run([str(collector_binary), "components"], capture_output=True, text=True, check=True)
    for name in (
        "otlp",
        "memory_limiter",
        "batch",
        "span_metrics",
        "file",
        "prometheus",
        "otlp_grpc",
        "otlp_http",
        "k8s_attributes",
        "resource_detection",
        "health_check",
        "redaction",
        "transform",
        "file_storage",
    ):
        assert f"name: {name}\n" in result.stdout


def test_prometheus_configs_and_rules_pass_promtool(stack_settings: StackSettings) -> None:
    """The Kubernetes config, the rendered local config and the alert rules are all valid."""
    local = render_prometheus_config(stack_settings)
    for config in (repo_root() / "prometheus" / "prometheus.yml", local):
        result = subprocess.run(
            ["promtool", "check", "config", "--syntax-only", str(config)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    rules = sorted((repo_root() / "prometheus" / "rules").glob("*.yml"))
    result = subprocess.run(
        ["promtool", "check", "rules", *map(str, rules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _merge(base: Any, override: Any) -> Any:
    """Merge configs the way the collector does: maps key by key, everything else (lists too) replaced whole."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: _merge(base[key], value) if key in base else value for key, value in override.items()} | {
            key: value for key, value in base.items() if key not in override
        }
    return override


def _load(*names: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in names:
        merged = _merge(merged, yaml.safe_load((COLLECTOR_DIR / name).read_text()))
    return merged


def _wiring_errors(config: dict[str, Any]) -> list[str]:
    """Every way `config` references an undefined component or defines one that nothing uses."""
    defined = {kind: set(config.get(kind) or {}) for kind in ("receivers", "processors", "exporters", "connectors")}
    extensions = set(config.get("extensions") or {})
    service = config.get("service") or {}
    enabled = set(service.get("extensions") or [])
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    errors: list[str] = []
    for name, pipeline in (service.get("pipelines") or {}).items():
        for kind, also in (("receivers", "connectors"), ("processors", None), ("exporters", "connectors")):
            for component in pipeline.get(kind) or []:
                used[kind].add(component)
                if component not in defined[kind] and (also is None or component not in defined[also]):
                    errors.append(f"pipeline {name} uses undefined {kind[:-1]} {component}")
    for kind in ("receivers", "processors", "exporters"):
        errors += [f"{kind[:-1]} {c} is defined but in no pipeline" for c in sorted(defined[kind] - used[kind])]
    for connector in sorted(defined["connectors"]):
        if connector not in used["exporters"] or connector not in used["receivers"]:
            errors.append(f"connector {connector} must be both a pipeline's exporter and a pipeline's receiver")
    errors += [f"service.extensions lists undefined extension {e}" for e in sorted(enabled - extensions)]
    errors += [f"extension {e} is defined but not in service.extensions" for e in sorted(extensions - enabled)]
    for name, exporter in (config.get("exporters") or {}).items():
        storage = ((exporter or {}).get("sending_queue") or {}).get("storage")
        if storage is not None and storage not in enabled:
            errors.append(f"exporter {name} queues on storage {storage}, which is not an enabled extension")
    return errors


@pytest.mark.parametrize("files", CONFIG_SETS, ids="+".join)
def test_collector_pipelines_use_only_defined_components_and_every_component_is_used(files: tuple[str, ...]) -> None:
    """Pipelines and service.extensions name only defined components; each one defined is used (connectors twice)."""
    assert _wiring_errors(_load(*files)) == []


def test_wiring_check_finds_each_kind_of_mistake() -> None:
    """The wiring check is not vacuous: undefined, unused, one-sided connector and unlisted storage are all reported."""
    config = {
        "extensions": {"health_check": {}, "file_storage": {}},
        "receivers": {"otlp": {}},
        "processors": {"batch": {}, "unused": {}},
        "exporters": {"debug": {"sending_queue": {"storage": "file_storage"}}},
        "connectors": {"span_metrics": {}},
        "service": {
            "extensions": ["health_check", "pprof"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch", "missing"], "exporters": ["debug"]}
            },
        },
    }
    assert _wiring_errors(config) == [
        "pipeline traces uses undefined processor missing",
        "processor unused is defined but in no pipeline",
        "connector span_metrics must be both a pipeline's exporter and a pipeline's receiver",
        "service.extensions lists undefined extension pprof",
        "extension file_storage is defined but not in service.extensions",
        "exporter debug queues on storage file_storage, which is not an enabled extension",
    ]


def test_production_exporters_have_explicit_bounded_queues_and_retries() -> None:
    """Every exporter in config.yaml sets sending_queue.queue_size; every push exporter turns retry_on_failure on."""
    exporters: dict[str, dict[str, Any]] = _load("config.yaml")["exporters"]
    for name, exporter in exporters.items():
        assert exporter["sending_queue"]["enabled"] is True, name
        assert exporter["sending_queue"]["queue_size"] > 0, name
        if name.split("/")[0] not in PULL_EXPORTERS:
            assert exporter["retry_on_failure"]["enabled"] is True, name


def test_persistent_queue_override_puts_every_push_exporter_queue_on_disk() -> None:
    """With config.persistent-queue.yaml each push exporter queues on file_storage, which is enabled; not by default."""
    assert "storage" not in json.dumps(_load("config.yaml")["exporters"])
    config = _load("config.yaml", "config.persistent-queue.yaml")
    push = [name for name in config["exporters"] if name.split("/")[0] not in PULL_EXPORTERS]
    assert push
    for name in push:
        assert config["exporters"][name]["sending_queue"]["storage"] == "file_storage", name
        assert config["exporters"][name]["sending_queue"]["queue_size"] > 0, name
    assert config["service"]["extensions"] == ["health_check", "file_storage"]


def _ottl_string(pattern: str) -> str:
    return pattern.replace("\\", "\\\\").replace('"', '\\"')


def test_local_config_redacts_like_production_and_status_messages_use_the_same_patterns() -> None:
    """config.local.yaml's redaction is production's, and the status-message statements mirror blocked_values."""
    production, local = _load("config.yaml"), _load("config.local.yaml")
    for name in ("redaction", "transform/redact_status"):
        assert local["processors"][name] == production["processors"][name], name
    patterns = production["processors"]["redaction"]["blocked_values"]
    statements = production["processors"]["transform/redact_status"]["trace_statements"]
    assert statements == [f'replace_pattern(span.status.message, "{_ottl_string(p)}", "****")' for p in patterns]


PASSWORD, QUERY_SECRET, TOKEN = "hunter2-Zq8x", "qs-77a1b2c3", "tok_9f8e7d6c5b4a3f2e"
API_KEY, EMAIL = "rsk_a1b2c3d4e5f6_A1b2C3d4E5f6G7h8I9j0K1L2m3N4o5P6q7R8s9T0u1V2w", "alice@example.com"
SECRETS = (PASSWORD, QUERY_SECRET, TOKEN, API_KEY, EMAIL)
READY_TIMEOUT_S, EXPORT_TIMEOUT_S = 30.0, 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redacting_collector(
    stack_settings: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackSettings]:
    """The real collector running config.local.yaml as the local stack runs it, with its own run dir and ports."""
    ports = ("otlp_grpc_port", "otlp_http_port", "collector_prometheus_port", "collector_metrics_port")
    settings = stack_settings.model_copy(
        update={"run_dir": tmp_path_factory.mktemp("collector"), "collector_health_port": _free_port()}
        | {name: _free_port() for name in ports}
    )
    manager, component = ProcessManager(settings.run_dir), collector(settings)
    manager.start(component, READY_TIMEOUT_S)
    yield settings
    manager.stop(component)


def _attrs(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": key, "value": {"stringValue": value}} for key, value in values.items()]


def _values(attributes: list[dict[str, Any]]) -> dict[str, str]:
    return {a["key"]: a["value"].get("stringValue", "") for a in attributes}


def _exported(path: Path, trace_id: str, kind: str) -> tuple[str, dict[str, Any]]:
    """The raw line the collector wrote holding `trace_id`'s span or log record, and that record."""
    deadline = time.monotonic() + EXPORT_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines() if path.exists() else []:
            for resource in json.loads(line)[f"resource{kind}"]:
                for scope in resource[f"scope{kind}"]:
                    for record in scope["spans" if kind == "Spans" else "logRecords"]:
                        if record.get("traceId") == trace_id:
                            return line, record
        time.sleep(0.2)
    pytest.fail(f"nothing for trace {trace_id} in {path} after {EXPORT_TIMEOUT_S} s")


def test_collector_masks_secrets_in_spans_and_logs_and_keeps_the_rest(redacting_collector: StackSettings) -> None:
    """Passwords in URLs, bearer tokens, API keys and emails leave the collector masked; other data is unchanged."""
    trace_id, now = uuid.uuid4().hex, time.time_ns()
    url = f"https://alice:{PASSWORD}@hooks.example.test/hook?password={QUERY_SECRET}&page=2"
    resource = {"attributes": _attrs({"service.name": "redaction-test"})}
    span = {
        "traceId": trace_id,
        "spanId": trace_id[:16],
        "name": "webhook.deliver",
        "kind": 3,
        "startTimeUnixNano": str(now),
        "endTimeUnixNano": str(now + 1_000_000),
        "attributes": _attrs(
            {"url.full": url, "http.request.header.authorization": f"Bearer {TOKEN}", "reelscope.job.id": "job-42"}
        ),
        "events": [
            {
                "name": "exception",
                "timeUnixNano": str(now),
                "attributes": _attrs({"exception.message": f"401 for key {API_KEY}"}),
            }
        ],
        "status": {"code": 2, "message": f"webhook unreachable: amqp://guest:{PASSWORD}@127.0.0.1:5672/ refused"},
    }
    log = {
        "timeUnixNano": str(now),
        "severityNumber": 9,
        "traceId": trace_id,
        "body": {"stringValue": f"delivering to {EMAIL} with Authorization: Bearer {TOKEN}"},
        "attributes": _attrs({"webhook_url": url, "job_id": "job-42"}),
    }
    base = f"http://127.0.0.1:{redacting_collector.otlp_http_port}"
    with httpx.Client(base_url=base, timeout=5) as client:
        traces = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "t"}, "spans": [span]}]}]}
        logs = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"scope": {"name": "t"}, "logRecords": [log]}]}]}
        assert client.post("/v1/traces", json=traces).status_code == 200
        assert client.post("/v1/logs", json=logs).status_code == 200

    telemetry = redacting_collector.telemetry_dir
    span_line, span_out = _exported(telemetry / "traces.jsonl", trace_id, "Spans")
    log_line, log_out = _exported(telemetry / "logs.jsonl", trace_id, "Logs")
    for line in (span_line, log_line):
        assert [secret for secret in SECRETS if secret in line] == []

    span_attrs, log_attrs = _values(span_out["attributes"]), _values(log_out["attributes"])
    for masked_url in (span_attrs["url.full"], log_attrs["webhook_url"]):
        assert masked_url.startswith("https://alice"), masked_url
        assert masked_url.endswith("/hook?****&page=2"), masked_url
    assert span_attrs["http.request.header.authorization"] == "****"
    assert span_attrs["reelscope.job.id"] == log_attrs["job_id"] == "job-42"
    assert _values(span_out["events"][0]["attributes"]) == {"exception.message": "401 for key ****"}
    assert span_out["status"]["message"] == "webhook unreachable: amqp://guest****127.0.0.1:5672/ refused"
    assert span_out["name"] == "webhook.deliver"
    assert log_out["body"]["stringValue"] == "delivering to **** with Authorization: ****"


def test_collector_masks_secrets_in_metric_labels(redacting_collector: StackSettings) -> None:
    """A data point attribute holding an email address reaches Prometheus masked, its other labels unchanged."""
    point = {
        "asDouble": 1,
        "timeUnixNano": str(time.time_ns()),
        "attributes": _attrs({"customer": EMAIL, "plan": "pro"}),
    }
    metric = {"name": "reelscope_redaction_probe", "gauge": {"dataPoints": [point]}}
    scope_metrics = [{"scope": {"name": "t"}, "metrics": [metric]}]
    body = {
        "resourceMetrics": [
            {"resource": {"attributes": _attrs({"service.name": "redaction-test"})}, "scopeMetrics": scope_metrics}
        ]
    }
    with httpx.Client(timeout=5) as client:
        response = client.post(f"http://127.0.0.1:{redacting_collector.otlp_http_port}/v1/metrics", json=body)
        assert response.status_code == 200
        scrape = f"http://127.0.0.1:{redacting_collector.collector_prometheus_port}/metrics"
        deadline, exposition = time.monotonic() + EXPORT_TIMEOUT_S, ""
        while "reelscope_redaction_probe" not in exposition and time.monotonic() < deadline:
            time.sleep(0.2)
            exposition = client.get(scrape).text
    probe = [line for line in exposition.splitlines() if line.startswith("reelscope_redaction_probe{")]
    assert len(probe) == 1, exposition
    assert 'customer="****"' in probe[0]
    assert 'plan="pro"' in probe[0]
    assert EMAIL not in exposition


class _Loki(BaseHTTPRequestHandler):
    """Stands in for Loki's OTLP endpoint: keeps every request body (decompressed), answers 200."""

    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.bodies.append(gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + EXPORT_TIMEOUT_S * 2
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {EXPORT_TIMEOUT_S * 2} s")
        time.sleep(0.2)


def _production_on_local_ports(ports: dict[str, int]) -> dict[str, Any]:
    """An override running config.yaml here: every listener on a free 127.0.0.1 port, no Kubernetes processor
    (k8s_attributes needs the API server), a short batch timeout."""
    local = {"host": "127.0.0.1", "port": ports["metrics"]}
    return {
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{ports['health']}"}},
        "receivers": {"otlp": {"protocols": {p: {"endpoint": f"127.0.0.1:{ports[p]}"} for p in ("grpc", "http")}}},
        "exporters": {"prometheus": {"endpoint": f"127.0.0.1:{ports['prometheus']}"}},
        "processors": {"batch": {"timeout": "100ms"}},
        "service": {
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": local}}}]}},
            "pipelines": {
                "traces": {"processors": ["memory_limiter", "redaction", "transform/redact_status", "batch"]},
                "metrics": {"processors": ["memory_limiter", "redaction", "batch"]},
                "logs": {"processors": ["memory_limiter", "redaction", "batch"]},
            },
        },
    }


def test_persistent_queue_delivers_after_a_restart_what_was_queued_before_it(
    collector_binary: Path, tmp_path: Path
) -> None:
    """With config.persistent-queue.yaml, a log queued while Loki is down is delivered by the next collector process."""
    ports = {name: _free_port() for name in ("health", "grpc", "http", "prometheus", "metrics", "loki", "tempo")}
    local = tmp_path / "local-ports.yaml"
    local.write_text(yaml.safe_dump(_production_on_local_ports(ports)))
    argv = [str(collector_binary)]
    for config in (COLLECTOR_DIR / "config.yaml", COLLECTOR_DIR / "config.persistent-queue.yaml", local):
        argv += ["--config", str(config)]
    env = {
        "REELSCOPE_COLLECTOR_QUEUE_DIR": str(tmp_path / "queue"),
        "LOKI_OTLP_ENDPOINT": f"http://127.0.0.1:{ports['loki']}/otlp",
        "TEMPO_OTLP_ENDPOINT": f"127.0.0.1:{ports['tempo']}",
    }
    component = Component("otel-collector-pq", argv, http_ok(f"http://127.0.0.1:{ports['health']}/"), env)
    manager, log = ProcessManager(tmp_path), tmp_path / "logs" / "otel-collector-pq.log"
    marker = f"queued-{uuid.uuid4().hex}"
    record = {"timeUnixNano": str(time.time_ns()), "body": {"stringValue": marker}}
    resource = {"attributes": _attrs({"service.name": "queue-test"})}
    logs = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"scope": {"name": "t"}, "logRecords": [record]}]}]}

    def retrying() -> bool:
        return any("Will retry" in line and "otlp_http/loki" in line for line in log.read_text().splitlines())

    manager.start(component, READY_TIMEOUT_S)  # Loki is down: the batch waits in the queue, retried
    try:
        response = httpx.post(f"http://127.0.0.1:{ports['http']}/v1/logs", json=logs, timeout=5)
        assert response.status_code == 200
        _wait_for(retrying, "the Loki exporter did not start retrying")
    finally:
        manager.stop(component)

    _Loki.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", ports["loki"]), _Loki)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    manager.start(component, READY_TIMEOUT_S)  # Loki is up; nothing new is sent to this process
    try:
        _wait_for(lambda: any(marker.encode() in body for body in _Loki.bodies), "the queued log was not delivered")
    finally:
        manager.stop(component)
        server.shutdown()
        server.server_close()
