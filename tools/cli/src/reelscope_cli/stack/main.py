"""`reelscope-stack up|down|status`: the local stack, for `make up`, `make down` and the tests."""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from reelscope_cli.stack.components import all_components
from reelscope_cli.stack.processes import ProcessManager
from reelscope_cli.stack.settings import StackSettings


def up(settings: StackSettings) -> None:
    """Start every component in order and wait for each to be ready; print the URLs."""
    if not settings.collector_binary.exists():
        raise RuntimeError(f"no collector at {settings.collector_binary}: run `make setup` first")
    manager = ProcessManager(settings.run_dir)
    print(f"Starting the Reelscope local stack (run dir {settings.run_dir})")
    started = []
    try:
        for component in all_components(settings):
            manager.start(component, settings.start_timeout_s)
            started.append(component)
    except BaseException:
        # Half a stack helps nobody and holds ports: stop what this call started, newest first.
        for component in reversed(started):
            manager.stop(component)
        raise
    print_urls(settings)


@contextmanager
def running(settings: StackSettings) -> Iterator[StackSettings]:
    """The stack up for the `with` block and down after it (a private stack for a test or a benchmark)."""
    up(settings)
    try:
        yield settings
    finally:
        down(settings)


def down(settings: StackSettings) -> None:
    """Stop exactly the processes `up` started, newest first."""
    manager = ProcessManager(settings.run_dir)
    for component in reversed(all_components(settings)):
        manager.stop(component)


def status(settings: StackSettings) -> int:
    manager = ProcessManager(settings.run_dir)
    down_count = 0
    for component in all_components(settings):
        pid = manager.pid_of(component.name)
        ready = pid is not None and component.ready()
        down_count += not ready
        print(f"  {component.name:<14} {'ready' if ready else 'down'}{f' (pid {pid})' if pid else ''}")
    return 1 if down_count else 0


def print_urls(s: StackSettings) -> None:
    print(
        "\n".join(
            [
                "",
                f"  Ingest API           {s.ingest_url}  (POST /v1/jobs with multipart field 'file')",
                f"  API key              in {s.api_key_file}  (Authorization: Bearer <it>; `reelscope` reads it)",
                f"  API docs             {s.ingest_url}/docs",
                f"  Prometheus           {s.prometheus_url}  (alerts: {s.prometheus_url}/alerts)",
                f"  Alertmanager         {s.alertmanager_url}  (rules' `for:` capped at {s.alert_for_max or 'none'})",
                f"  Alert notifications  {s.alert_notifications_file}  (webhook, Slack, e-mail, as received)",
                f"  Failure flags        {s.flags_file}  (`reelscope flags list`)",
                f"  RabbitMQ management  http://127.0.0.1:{s.rabbitmq_management_port}  (guest/guest)",
                f"  OTLP (collector)     grpc 127.0.0.1:{s.otlp_grpc_port}, http 127.0.0.1:{s.otlp_http_port}",
                f"  Traces and logs      {s.telemetry_dir}/traces.jsonl, logs.jsonl",
                f"  Process logs         {s.run_dir / 'logs'}",
                "",
            ]
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelscope-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    settings = StackSettings()
    try:
        if args.command == "up":
            up(settings)
        elif args.command == "down":
            down(settings)
        else:
            return status(settings)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
