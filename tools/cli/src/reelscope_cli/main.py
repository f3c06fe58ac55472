"""`reelscope submit|status|cancel|trace|logs`: follow a job from the terminal."""

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelscope_cli import dead_letters, flags_command, load_command, scenario
from reelscope_cli.client import ApiClient
from reelscope_cli.otlp_files import format_tree, read_logs, read_spans
from reelscope_cli.stack.settings import StackSettings


def _api() -> ApiClient:
    """The API at REELSCOPE_API_URL (default: the local stack) with REELSCOPE_API_KEY; without a key, the local
    stack's own key, sent to the local stack only (never to another deployment)."""
    stack = StackSettings()
    url, key = os.environ.get("REELSCOPE_API_URL", stack.ingest_url), os.environ.get("REELSCOPE_API_KEY")
    if key is None and url.rstrip("/") == stack.ingest_url:
        return ApiClient.for_stack(stack)
    return ApiClient(url, key)


def trace_id_of(job: dict[str, Any]) -> str:
    """The job's trace id, as the API recorded it at submission."""
    trace_id = job.get("trace_id")
    if not trace_id:
        raise RuntimeError(f"job {job['job_id']} has no trace id")
    return str(trace_id)


def cmd_submit(args: argparse.Namespace) -> int:
    accepted = _api().submit(Path(args.file), args.webhook, args.hls)
    print(json.dumps(accepted, indent=2))
    if args.follow:
        job = _api().wait(accepted["job_id"], timeout_s=args.timeout, show=True)
        if job["status"] == "failed":
            print(f"failed in {job['failure']['stage']}: {job['failure']['reason']}", file=sys.stderr)
        print_grafana_links(job)
        return 0 if job["status"] == "completed" else 1
    return 0


def print_grafana_links(job: dict[str, Any]) -> None:
    """Where to follow the job in Grafana, when the API knows Grafana's URL (REELSCOPE_GRAFANA_URL)."""
    links = job.get("grafana")
    if links:
        print(f"trace in Grafana: {links['trace']}")
        print(f"logs in Grafana:  {links['logs']}")


def cmd_cancel(args: argparse.Namespace) -> int:
    job = _api().cancel(args.job_id)
    print(json.dumps({"job_id": job["job_id"], "status": job["status"]}, indent=2))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    print(json.dumps(_api().job(args.job_id), indent=2))
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    job = _api().job(args.job_id)
    trace_id = trace_id_of(job)
    print_grafana_links(job)
    spans = [s for s in read_spans(StackSettings().telemetry_dir / "traces.jsonl") if s.trace_id == trace_id]
    if not spans:
        print(f"no spans yet for trace {trace_id}", file=sys.stderr)
        return 1
    print(f"trace {trace_id} ({len(spans)} spans)")
    print(format_tree(spans))
    return 0


def format_log(record_time_ns: int, service: str, severity: str, body: object, attributes: dict[str, object]) -> str:
    when = datetime.fromtimestamp(record_time_ns / 1e9, UTC).strftime("%H:%M:%S.%f")[:-3]
    extra = " ".join(f"{k}={v}" for k, v in attributes.items() if k not in {"trace_id", "span_id", "service", "job_id"})
    return f"{when} {service:<13} {severity:<5} {body}  {extra}".rstrip()


def cmd_logs(args: argparse.Namespace) -> int:
    trace_id = trace_id_of(_api().job(args.job_id))
    logs = [r for r in read_logs(StackSettings().telemetry_dir / "logs.jsonl") if r.trace_id == trace_id]
    for record in sorted(logs, key=lambda r: r.time_ns):
        print(format_log(record.time_ns, record.service, record.severity, record.body, record.attributes))
    return 0 if logs else 1


def _amqp_url() -> str:
    return os.environ.get("REELSCOPE_AMQP_URL", f"amqp://guest:guest@127.0.0.1:{StackSettings().amqp_port}/")


def cmd_dead_letters_list(args: argparse.Namespace) -> int:
    letters = asyncio.run(dead_letters.list_dead_letters(_amqp_url(), args.limit))
    for letter in letters:
        print(
            f"{letter.message_id}  from {letter.origin_queue or '?'}  job {letter.job_id or '?'}  "
            f"attempts {letter.attempts or '?'}\n    {letter.reason}"
        )
    print(f"{len(letters)} parked message(s) shown")
    return 0


def _chosen_ids(args: argparse.Namespace, verb: str) -> set[str] | None:
    """The message ids named on the command line, None for `--all`; SystemExit(2) for neither."""
    if not args.all and not args.message_ids:
        print(f"name message ids to {verb}, or --all", file=sys.stderr)
        raise SystemExit(2)
    return None if args.all else set(args.message_ids)


def cmd_dead_letters_replay(args: argparse.Namespace) -> int:
    replayed = asyncio.run(dead_letters.replay(_amqp_url(), _chosen_ids(args, "replay")))
    for letter in replayed:
        print(f"replayed {letter.message_id} to {letter.origin_queue} (job {letter.job_id or '?'})")
    print(f"{len(replayed)} message(s) replayed")
    return 0


def cmd_dead_letters_discard(args: argparse.Namespace) -> int:
    discarded = asyncio.run(dead_letters.discard(_amqp_url(), _chosen_ids(args, "discard")))
    for letter in discarded:
        print(f"discarded {letter.message_id} from {letter.origin_queue or '?'}: {letter.reason}")
    print(f"{len(discarded)} message(s) discarded")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelscope", description="Submit and follow Reelscope jobs.")
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="upload a video and start a job")
    submit.add_argument("file")
    submit.add_argument("--webhook", help="URL to POST to when the job ends")
    submit.add_argument("--follow", action="store_true", help="show a progress bar until the job ends")
    submit.add_argument("--timeout", type=float, default=3600.0, help="give up following after this many seconds")
    submit.add_argument(
        "--hls", action=argparse.BooleanOptionalAction, default=None, help="also package HLS (default: server config)"
    )
    submit.set_defaults(run=cmd_submit)
    for name, run, text in (
        ("status", cmd_status, "show a job's state"),
        ("cancel", cmd_cancel, "cancel a job that has not finished"),
        ("trace", cmd_trace, "show a job's trace as a tree"),
        ("logs", cmd_logs, "show a job's log lines"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("job_id")
        command.set_defaults(run=run)
    dead = commands.add_parser("dead-letters", help="inspect or replay messages in the parking queue")
    actions = dead.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="show parked messages with their reason (they stay parked)")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=cmd_dead_letters_list)
    replaying = actions.add_parser("replay", help="put parked messages back on their queues, attempts reset")
    replaying.add_argument("message_ids", nargs="*", help="ids shown by `list`")
    replaying.add_argument("--all", action="store_true", help="replay every parked message")
    replaying.set_defaults(run=cmd_dead_letters_replay)
    discarding = actions.add_parser("discard", help="remove parked messages for good (after inspecting them)")
    discarding.add_argument("message_ids", nargs="*", help="ids shown by `list`")
    discarding.add_argument("--all", action="store_true", help="discard every parked message")
    discarding.set_defaults(run=cmd_dead_letters_discard)
    load_command.add_parser(commands, _api)
    flags_command.add_parser(commands)
    scenario.add_parser(commands, _api)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
