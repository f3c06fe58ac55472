"""The stack's components, in start order, with the env each needs (all on 127.0.0.1)."""

import json
import os
import re
import secrets
import string
import sys
from collections.abc import Callable
from pathlib import Path

from reelscope_flags.flagfile import ensure_flag_file

from reelscope_cli.stack.alerting import alert_webhook_token_file, render_alertmanager_config, render_rules
from reelscope_cli.stack.processes import Component, http_ok, port_open
from reelscope_cli.stack.settings import StackSettings, repo_root

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


def rabbitmq_env(s: StackSettings) -> dict[str, str]:
    """A private RabbitMQ node: own name, ports, data, logs, plugins and Erlang cookie under the run dir."""
    base = s.run_dir / "rabbitmq"
    (base / "home").mkdir(parents=True, exist_ok=True)
    (base / "enabled_plugins").write_text("[rabbitmq_management,rabbitmq_prometheus].\n")
    (base / "rabbitmq.conf").write_text(
        "\n".join(
            [
                f"listeners.tcp.default = 127.0.0.1:{s.amqp_port}",
                "management.tcp.ip = 127.0.0.1",
                f"management.tcp.port = {s.rabbitmq_management_port}",
                "prometheus.tcp.ip = 127.0.0.1",
                f"prometheus.tcp.port = {s.rabbitmq_prometheus_port}",
                # A delivery may stay unacked 5 h (the default 30 min would close the channel of a long encode;
                # transcode's ffmpeg ceiling is 4 h), as in docker compose and the Helm chart.
                "consumer_timeout = 18000000",
                "log.console = true",
                "log.file = false",
                "",
            ]
        )
    )
    return {
        "HOME": str(base / "home"),
        "RABBITMQ_NODENAME": s.rabbitmq_node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(s.amqp_port),
        "RABBITMQ_DIST_PORT": str(s.rabbitmq_dist_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        # Erlang distribution (rabbitmqctl talks to the node through it) on loopback too, not on every interface.
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
        # Erlang writes a crash dump to the working directory unless told otherwise.
        "ERL_CRASH_DUMP": str(base / "erl_crash.dump"),
    }


def rabbitmq(s: StackSettings) -> Component:
    env = rabbitmq_env(s)
    return Component(
        "rabbitmq",
        [str(RABBITMQ_BIN / "rabbitmq-server")],
        ready=lambda: port_open(s.amqp_port) and http_ok(f"http://127.0.0.1:{s.rabbitmq_prometheus_port}/metrics")(),
        env=env,
        ports=(s.amqp_port, s.rabbitmq_management_port),
        stop_command=[str(RABBITMQ_BIN / "rabbitmqctl"), "-n", s.rabbitmq_node, "stop"],
    )


def collector_env(s: StackSettings) -> dict[str, str]:
    return {
        "REELSCOPE_RUN_DIR": str(s.run_dir),
        "REELSCOPE_OTLP_GRPC_PORT": str(s.otlp_grpc_port),
        "REELSCOPE_OTLP_HTTP_PORT": str(s.otlp_http_port),
        "REELSCOPE_COLLECTOR_PROMETHEUS_PORT": str(s.collector_prometheus_port),
        "REELSCOPE_COLLECTOR_METRICS_PORT": str(s.collector_metrics_port),
        "REELSCOPE_COLLECTOR_HEALTH_PORT": str(s.collector_health_port),
        "REELSCOPE_METRIC_EXPIRATION": s.metric_expiration,
    }


def collector(s: StackSettings) -> Component:
    s.telemetry_dir.mkdir(parents=True, exist_ok=True)
    return Component(
        "otel-collector",
        [str(s.collector_binary), "--config", str(repo_root() / "otel-collector" / "config.local.yaml")],
        ready=http_ok(f"http://127.0.0.1:{s.collector_health_port}/"),
        env=collector_env(s),
        ports=(s.otlp_grpc_port, s.otlp_http_port, s.collector_prometheus_port),
    )


def render_prometheus_config(s: StackSettings) -> Path:
    """Fill the ports into prometheus/prometheus.local.yml; the rendered copy lives in the run dir."""
    values = {
        "REELSCOPE_RULES_DIR": str(render_rules(s)),
        "REELSCOPE_ALERTMANAGER_PORT": str(s.alertmanager_port),
        "REELSCOPE_COLLECTOR_PROMETHEUS_PORT": str(s.collector_prometheus_port),
        "REELSCOPE_COLLECTOR_METRICS_PORT": str(s.collector_metrics_port),
        "REELSCOPE_RABBITMQ_PROMETHEUS_PORT": str(s.rabbitmq_prometheus_port),
    }
    template = (repo_root() / "prometheus" / "prometheus.local.yml").read_text()
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)
    target = s.run_dir / "prometheus" / "prometheus.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(rendered)
    return target


def prometheus(s: StackSettings) -> Component:
    config = render_prometheus_config(s)
    return Component(
        "prometheus",
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={s.run_dir / 'prometheus' / 'data'}",
            f"--web.listen-address=127.0.0.1:{s.prometheus_port}",
            "--enable-feature=exemplar-storage",
            "--storage.tsdb.retention.time=2d",
        ],
        ready=http_ok(f"{s.prometheus_url}/-/ready"),
        ports=(s.prometheus_port,),
    )


def alert_receiver(s: StackSettings) -> Component:
    """Where the local Alertmanager delivers: webhook and Slack over HTTP, email over SMTP (alert_receiver.py)."""
    alert_webhook_token_file(s)
    return Component(
        "alert-receiver",
        [
            sys.executable,
            "-m",
            "reelscope_cli.stack.alert_receiver",
            f"--http-port={s.alert_receiver_port}",
            f"--smtp-port={s.alert_smtp_port}",
            f"--out={s.alert_notifications_file}",
            f"--token-file={s.alert_webhook_token_file}",
        ],
        ready=lambda: http_ok(f"http://127.0.0.1:{s.alert_receiver_port}/healthz")() and port_open(s.alert_smtp_port),
        ports=(s.alert_receiver_port, s.alert_smtp_port),
    )


def alertmanager(s: StackSettings) -> Component:
    """Debian's Alertmanager with our routing (rendered by alerting.py), a single node: no cluster port."""
    config = render_alertmanager_config(s)
    return Component(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={config}",
            f"--storage.path={s.run_dir / 'alertmanager' / 'data'}",
            f"--web.listen-address=127.0.0.1:{s.alertmanager_port}",
            "--cluster.listen-address=",
        ],
        ready=http_ok(f"{s.alertmanager_url}/-/ready"),
        ports=(s.alertmanager_port,),
    )


def service_env(s: StackSettings, name: str) -> dict[str, str]:
    """What every service gets: broker, storage, and the standard OTEL_* variables."""
    return {
        "REELSCOPE_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{s.amqp_port}/",
        "REELSCOPE_STORAGE_BACKEND": os.environ.get("REELSCOPE_STORAGE_BACKEND", "filesystem"),
        "REELSCOPE_STORAGE_DIR": str(s.storage_dir),
        # Scratch on the same filesystem as storage, so an upload is moved into place, not copied.
        "REELSCOPE_SCRATCH_DIR": str(s.run_dir / "scratch"),
        "REELSCOPE_FLAGS_FILE": str(s.flags_file),  # made all-off by `services` if missing
        "OTEL_SERVICE_NAME": name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{s.otlp_http_port}"
        ),
        "OTEL_EXPORTER_OTLP_PROTOCOL": os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        "OTEL_EXPORTER_OTLP_TIMEOUT": os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
        "OTEL_METRIC_EXPORT_INTERVAL": os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        "OTEL_BSP_SCHEDULE_DELAY": os.environ.get("OTEL_BSP_SCHEDULE_DELAY", "500"),
        "OTEL_BLRP_SCHEDULE_DELAY": os.environ.get("OTEL_BLRP_SCHEDULE_DELAY", "500"),
        "OTEL_RESOURCE_ATTRIBUTES": os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=local"),
    }


# The local stack's webhooks (and the tests' receivers) listen on 127.0.0.1, which production refuses.
LOCAL_WEBHOOK_NETWORKS = {"REELSCOPE_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"])}


def _private_file(path: Path, make: Callable[[], str]) -> Path:
    """A file made once (mode 0600) with `make()`'s text, kept across restarts of the stack."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(make())
    return path


def webhook_signing_secrets_file(s: StackSettings) -> Path:
    """The run dir's webhook signing secrets (a JSON list), made once per run dir, readable by its owner only;
    tests read it to verify deliveries."""
    return _private_file(s.run_dir / "webhook-signing-secrets.json", lambda: json.dumps([secrets.token_hex(32)]))


def api_key_pepper_file(s: StackSettings) -> Path:
    """The run dir's API key pepper (REELSCOPE_API_KEY_PEPPER_FILE)."""
    return _private_file(s.run_dir / "api-key-pepper", lambda: secrets.token_hex(32))


def new_api_key() -> str:
    """A fresh key in the form ingest accepts (rsk_<12 of a-z 0-9>_<43 of the URL-safe alphabet>)."""
    key_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
    return f"rsk_{key_id}_{secrets.token_urlsafe(32)}"


def declared_api_keys_file(s: StackSettings) -> Path:
    """The run dir's declared keys (REELSCOPE_API_KEYS_FILE): the stack's own key, with every scope; the key
    itself is in `s.api_key_file`, where the CLI and the tests read it."""
    key = _private_file(s.api_key_file, new_api_key).read_text().strip()
    declared = [{"name": "local-stack", "tenant": "default", "scopes": ["submit", "read", "admin"], "key": key}]
    return _private_file(s.run_dir / "api-keys.json", lambda: json.dumps(declared))


def transcription_concurrency() -> dict[str, str]:
    """One transcription worker, as many jobs and recogniser processes as there are cores: the recogniser is
    single-threaded, so with one job at a time it is the pipeline's bottleneck and leaves cores idle (Kubernetes
    scales it with replicas instead). REELSCOPE_PREFETCH / REELSCOPE_ASR_WORKERS set in the environment win."""
    cores = str(len(os.sched_getaffinity(0)))
    return {
        "REELSCOPE_PREFETCH": os.environ.get("REELSCOPE_PREFETCH", cores),
        "REELSCOPE_ASR_WORKERS": os.environ.get("REELSCOPE_ASR_WORKERS", cores),
    }


def services(s: StackSettings) -> list[Component]:
    ensure_flag_file(s.flags_file)
    ingest_env = (
        service_env(s, "ingest")
        | LOCAL_WEBHOOK_NETWORKS
        | {
            "REELSCOPE_API_KEY_PEPPER_FILE": str(api_key_pepper_file(s)),
            "REELSCOPE_API_KEYS_FILE": str(declared_api_keys_file(s)),
            # One key drives the fault suite's 1000 jobs and the benchmarks: the production defaults (60 a
            # minute, 20 unfinished) would turn them into a test of the limits (which have their own tests).
            "REELSCOPE_SUBMISSIONS_PER_MINUTE": os.environ.get("REELSCOPE_SUBMISSIONS_PER_MINUTE", "100000"),
            "REELSCOPE_MAX_CONCURRENT_JOBS": os.environ.get("REELSCOPE_MAX_CONCURRENT_JOBS", "100000"),
            "REELSCOPE_PORT": str(s.ingest_port),
            "REELSCOPE_DATABASE_URL": os.environ.get(
                # The name dates from before migrations (schema v2); ingest now upgrades it in place (docs/database.md).
                "REELSCOPE_DATABASE_URL",
                f"sqlite+aiosqlite:///{s.run_dir / 'reelscope-v2.db'}",
            ),
        }
    )
    components = [
        Component(
            "ingest",
            [sys.executable, "-m", "reelscope_ingest"],
            ready=http_ok(f"{s.ingest_url}/readyz"),
            env=ingest_env,
            ports=(s.ingest_port,),
        )
    ]
    extra_env = {
        "notification": LOCAL_WEBHOOK_NETWORKS
        | {"REELSCOPE_WEBHOOK_SIGNING_SECRETS_FILE": str(webhook_signing_secrets_file(s))},
        "transcription": transcription_concurrency(),
    }
    for name, port in (
        ("transcode", s.transcode_health_port),
        ("transcription", s.transcription_health_port),
        ("notification", s.notification_health_port),
    ):
        components.append(
            Component(
                name,
                [sys.executable, "-m", f"reelscope_{name}"],
                ready=http_ok(f"http://127.0.0.1:{port}/readyz"),
                env=service_env(s, name) | {"REELSCOPE_HEALTH_PORT": str(port)} | extra_env.get(name, {}),
                ports=(port,),
            )
        )
    return components


def all_components(s: StackSettings) -> list[Component]:
    """Everything, in start order (stop in reverse)."""
    return [rabbitmq(s), collector(s), alert_receiver(s), alertmanager(s), prometheus(s), *services(s)]
