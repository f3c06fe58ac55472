"""`reelscope scenario NAME`: break the local stack on purpose, drive load through it, and show which dashboard
panels and which alerts to watch, with the alerts' progress (pending, firing, notified) live. Each scenario is a
failure flag (or a killed worker) plus a load mix; it mends what it broke when it ends, unless `--keep`."""

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from reelscope_flags.flagfile import set_flag

from reelscope_cli.alert_watch import AlertTimeline, AlertWatch
from reelscope_cli.client import ApiClient
from reelscope_cli.load import LoadSettings, run_load
from reelscope_cli.load_mix import CLIP_SET_VERSION, mix_argument, prepare_clips
from reelscope_cli.load_report import LoadReport, progress_line, summary
from reelscope_cli.stack.components import services
from reelscope_cli.stack.processes import Component, ProcessManager
from reelscope_cli.stack.settings import StackSettings


@dataclass(frozen=True)
class Scenario:
    """What to break, the load to drive through it, and where the damage shows."""

    name: str
    story: str
    flag: tuple[str, str] | None = None
    """(flag, value) set for the scenario and turned off after it."""
    kill: str | None = None
    """A worker SIGKILLed for the scenario and restarted after it (local stack only)."""
    mix: str = "short=3,speech=1"
    rate: float = 0.5
    duration_s: float = 180.0
    job_webhook: bool = False
    """Jobs notify the local receiver's /jobs endpoint (so notification has deliveries to fail)."""
    panels: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    watch_s: float = 180.0
    """How long to keep watching for the alerts after the load, by default."""
    afterwards: str = ""


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "failure-spike",
            "Half of all transcodes fail (flag transcodeFailureRate=0.5): failed jobs with a clear reason.",
            flag=("transcodeFailureRate", "0.5"),
            panels=(
                "Pipeline overview / Success rate",
                "Pipeline overview / Failed jobs / min by category",
                "SLOs / Job success: Burn rate (error ratio / budget)",
            ),
            alerts=("ReelscopeJobFailureRatioHigh", "ReelscopeJobSuccessBudgetBurnFast"),
            afterwards="The failure ratio alert resolves once healthy jobs bring the 10-minute ratio under 20%.",
        ),
        Scenario(
            "slow-transcription",
            "The recogniser takes 10 times as long (flag transcriptionSlowdownFactor=10).",
            flag=("transcriptionSlowdownFactor", "10"),
            mix="speech=1",
            rate=0.2,
            panels=(
                "Media processing / Processing time / media duration",
                "Media processing / Recogniser real-time factor",
                "Pipeline overview / End-to-end job duration",
                "SLOs / Job latency: Burn rate (error ratio / budget)",
            ),
            alerts=("ReelscopeSlowProcessing",),
            afterwards="Jobs longer than the 300 s latency objective also burn the latency SLO's budget.",
        ),
        Scenario(
            "webhook-down",
            "Every webhook delivery fails as a 503 (flag webhookTargetFailing): retries (about 2.5 minutes with the "
            "default backoff), then dead letters.",
            flag=("webhookTargetFailing", "on"),
            watch_s=300.0,
            mix="short=1",
            job_webhook=True,
            panels=(
                "Pipeline overview / Retries and dead letters / min by queue",
                "Pipeline overview / Dead-letter queue depth (reelscope.parked)",
            ),
            alerts=("ReelscopeDeadLettersPresent",),
            afterwards="Replay the parked deliveries with `reelscope dead-letters replay --all`: the alert resolves.",
        ),
        Scenario(
            "poison-message",
            "Ingest publishes an undecodable message beside each job (flag poisonMessageRate=1): transcode parks it.",
            flag=("poisonMessageRate", "1"),
            mix="short=1",
            rate=0.2,
            duration_s=60.0,
            panels=(
                "Pipeline overview / Dead-letter queue depth (reelscope.parked)",
                "RabbitMQ and telemetry pipeline / Ready messages per queue",
            ),
            alerts=("ReelscopeDeadLettersPresent",),
            afterwards="Inspect with `reelscope dead-letters list`, then `reelscope dead-letters discard --all`.",
        ),
        Scenario(
            "worker-killed",
            "The transcode worker is SIGKILLed and stays down: jobs wait in reelscope.transcode.",
            kill="transcode",
            panels=(
                "Pipeline overview / Messages waiting (work queues)",
                "RabbitMQ and telemetry pipeline / Consumers per queue",
            ),
            alerts=("ReelscopeServiceDown",),
            afterwards="The worker is restarted at the end: the waiting jobs complete and the alert resolves. "
            "Left down for 15 minutes, ReelscopeNoJobsFinishing would fire too (inhibited by ServiceDown).",
        ),
        Scenario(
            "slow-api",
            "Every API request takes 700 ms longer (flag ingestAddedLatencyMs=700).",
            flag=("ingestAddedLatencyMs", "700"),
            mix="short=1",
            rate=1.0,
            duration_s=300.0,
            panels=("API performance / p95 latency by route", "SLOs / API latency: Burn rate (error ratio / budget)"),
            alerts=("ReelscopeApiLatencyBudgetBurnFast",),
            afterwards="The fast burn pages once slow reads are 14.4% of the last hour's as well as the last 5 "
            "minutes' (multi-window): on a stack that served many fast reads this hour, it takes longer.",
        ),
        Scenario(
            "memory-leak",
            "The transcode worker keeps 20 MiB of every job (flag transcodeMemoryLeakMbPerJob=20).",
            flag=("transcodeMemoryLeakMbPerJob", "20"),
            mix="short=1",
            rate=1.0,
            panels=("Media processing / Memory (RSS) by service",),
            afterwards="The memory stays until the worker restarts: `make down && make up`.",
        ),
    )
}


def _worker(stack: StackSettings, name: str) -> Component:
    (component,) = [c for c in services(stack) if c.name == name]
    return component


def break_it(scenario: Scenario, stack: StackSettings, flags_file: Path) -> None:
    if scenario.flag is not None:
        set_flag(flags_file, *scenario.flag)
    if scenario.kill is not None:
        ProcessManager(stack.run_dir).kill(_worker(stack, scenario.kill))


def mend(scenario: Scenario, stack: StackSettings, flags_file: Path) -> None:
    if scenario.flag is not None:
        set_flag(flags_file, scenario.flag[0], "off")
    if scenario.kill is not None:
        ProcessManager(stack.run_dir).start(_worker(stack, scenario.kill), stack.start_timeout_s)


def _alert_line(timelines: list[AlertTimeline]) -> str:
    def state(t: AlertTimeline) -> str:
        if t.notified_s is not None:
            return f"notified after {t.notified_s:.0f} s"
        if t.firing_s is not None:
            return f"firing after {t.firing_s:.0f} s"
        return "pending" if t.pending_s is not None else "quiet"

    return "; ".join(f"{t.name} {state(t)}" for t in timelines)


def _poll(watch: AlertWatch) -> None:
    try:
        watch.poll()
    except httpx.HTTPError as exc:
        print(f"  (Prometheus not answering: {exc})")


def _watch_until_notified(watch: AlertWatch, limit_s: float) -> None:
    """After the load, keep the breakage and keep watching until every expected alert has been notified (an
    alert fires only after its `for:`), for at most `limit_s`."""
    deadline = time.monotonic() + limit_s
    while watch.timelines and any(t.notified_s is None for t in watch.timelines.values()):
        if time.monotonic() > deadline:
            print(f"  stopped watching after {limit_s:.0f} s (--watch); Prometheus /alerts shows the rest")
            return
        time.sleep(5)
        _poll(watch)
        print(f"  waiting for alerts | {_alert_line(list(watch.timelines.values()))}", flush=True)


def run_scenario(scenario: Scenario, stack: StackSettings, api: ApiClient, args: argparse.Namespace) -> int:
    flags_file: Path = args.flags_file or stack.flags_file
    print(f"scenario {scenario.name}: {scenario.story}")
    print("watch in Grafana:\n" + "\n".join(f"  {panel}" for panel in scenario.panels))
    if scenario.alerts:
        print("alerts to expect (Prometheus /alerts, Alertmanager, and the local receiver's notifications):")
        print("\n".join(f"  {alert}" for alert in scenario.alerts))
        print(f"  notifications land in {stack.alert_notifications_file}")
    mix = mix_argument(scenario.mix)
    clips = prepare_clips(set(mix.weights), stack.cache_dir / f"load-clips-{CLIP_SET_VERSION}")
    webhook = f"http://127.0.0.1:{stack.alert_receiver_port}/jobs" if scenario.job_webhook else None
    settings = LoadSettings(
        clips=clips, mix=mix, rate=args.rate or scenario.rate, duration_s=args.duration or scenario.duration_s,
        webhook_url=webhook,
    )  # fmt: skip
    watch = AlertWatch(stack.prometheus_url, stack.alert_notifications_file, list(scenario.alerts))
    report, stop = LoadReport(), threading.Event()
    break_it(scenario, stack, flags_file)
    try:
        load = threading.Thread(target=run_load, args=(settings, api, report, stop), name="scenario-load")
        load.start()
        try:
            while load.is_alive():
                load.join(5.0)
                _poll(watch)
                alerts = f" | {_alert_line(list(watch.timelines.values()))}" if scenario.alerts else ""
                print(f"{progress_line(report.snapshot())}{alerts}", flush=True)
            _watch_until_notified(watch, args.watch or scenario.watch_s)
        except KeyboardInterrupt:
            stop.set()
            load.join()
    finally:
        if not args.keep:
            mend(scenario, stack, flags_file)
    print(summary(report))
    for timeline in watch.timelines.values():
        print(f"  {timeline.describe()}")
    if args.keep:
        print("the breakage is left in place (--keep): `reelscope flags set NAME off` or `make down && make up`")
    elif scenario.afterwards:
        print(scenario.afterwards)
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]", api: Callable[[], ApiClient]) -> None:
    """Register `scenario` on the `reelscope` command line."""
    lines = "\n".join(f"  {s.name:<20} {s.story}" for s in SCENARIOS.values())
    parser = commands.add_parser(
        "scenario",
        help="break the local stack on purpose under load and watch the dashboards and alerts",
        description=f"Scenarios:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=sorted(SCENARIOS))
    parser.add_argument("--rate", type=float, help="submissions per second (default: the scenario's)")
    parser.add_argument("--duration", type=float, help="seconds of load (default: the scenario's)")
    parser.add_argument(
        "--watch", type=float, help="seconds to keep watching for the alerts after the load (default: the scenario's)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the flag on / the worker down afterwards")
    parser.add_argument("--flags-file", type=Path, help="the flag file (default: the local stack's)")

    def run(args: argparse.Namespace) -> int:
        with api() as client:
            return run_scenario(SCENARIOS[args.name], StackSettings(), client, args)

    parser.set_defaults(run=run)
