"""Follow named alerts from the moment something broke: when each went pending and firing in Prometheus, when
Alertmanager's notification about it reached the local alert receiver, and when it resolved (in Prometheus and
by notification). `reelscope scenario` prints these; the alert end-to-end tests assert on them."""

import time
from dataclasses import dataclass, field
from pathlib import Path

from reelscope_cli.client import PrometheusClient
from reelscope_cli.stack.alert_receiver import Notification, read_notifications


@dataclass
class AlertTimeline:
    """Seconds after `AlertWatch.started` at which the alert reached each point (None: not yet)."""

    name: str
    pending_s: float | None = None
    firing_s: float | None = None
    notified_s: float | None = None
    notified_channels: set[str] = field(default_factory=set)
    resolved_s: float | None = None
    resolved_notified_s: float | None = None
    last_active_s: float | None = None
    """The last poll that saw the alert pending or firing (its resolution is notified after that)."""

    def describe(self) -> str:
        def at(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} s"

        channels = f" ({', '.join(sorted(self.notified_channels))})" if self.notified_channels else ""
        return (
            f"{self.name}: pending {at(self.pending_s)}, firing {at(self.firing_s)}, "
            f"notified {at(self.notified_s)}{channels}, resolved {at(self.resolved_s)}, "
            f"resolved notified {at(self.resolved_notified_s)}"
        )


def notifications_about(
    notifications: list[Notification], alertname: str, status: str, since: float
) -> list[Notification]:
    """Those of `notifications` received after unix time `since` about `alertname` with `status` (firing or
    resolved)."""
    wanted = "RESOLVED" if status == "resolved" else "FIRING"
    found = []
    for notification in notifications:
        if notification.received_at < since or not notification.mentions(alertname):
            continue
        if notification.channel == "webhook":
            matches = any(
                a.get("labels", {}).get("alertname") == alertname and a.get("status") == status
                for a in notification.body.get("alerts", [])
            )
        else:  # Slack and email carry the status in their title: [FIRING:n] / [RESOLVED]
            matches = f"[{wanted}" in str(notification.body)
        if matches:
            found.append(notification)
    return found


class AlertWatch:
    """Polls Prometheus and the receiver's notifications file for `names`, from now on."""

    def __init__(self, prometheus_url: str, notifications: Path, names: list[str]) -> None:
        self.prometheus_url = prometheus_url
        self.notifications = notifications
        self.started = time.time()
        self.timelines = {name: AlertTimeline(name) for name in names}

    def poll(self) -> None:
        """Record what changed since the last poll (one Prometheus query, one read of the notifications)."""
        now = time.time() - self.started
        with PrometheusClient(self.prometheus_url) as prometheus:
            active = {(a["labels"]["alertname"], a["state"]) for a in prometheus.alerts()}
        received = read_notifications(self.notifications)
        for name, timeline in self.timelines.items():
            states = {state for alert, state in active if alert == name}
            if states:
                timeline.pending_s = now if timeline.pending_s is None else timeline.pending_s
                timeline.last_active_s = now
            if "firing" in states and timeline.firing_s is None:
                timeline.firing_s = now
            if not states and timeline.firing_s is not None and timeline.resolved_s is None:
                timeline.resolved_s = now
            firing = notifications_about(received, name, "firing", self.started)
            if firing:
                timeline.notified_s = min(n.received_at for n in firing) - self.started
                timeline.notified_channels = {n.channel for n in firing}
            if timeline.resolved_s is not None and timeline.resolved_notified_s is None:
                since = self.started + (timeline.last_active_s or 0.0)
                resolved = notifications_about(received, name, "resolved", since)
                if resolved:
                    timeline.resolved_notified_s = min(n.received_at for n in resolved) - self.started

    def wait(self, name: str, point: str, timeout_s: float, interval_s: float = 1.0) -> AlertTimeline:
        """Poll until `name`'s timeline has `point` (`firing_s`, `notified_s`, `resolved_notified_s`...);
        TimeoutError with the timeline so far otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            timeline = self.timelines[name]
            if getattr(timeline, point) is not None:
                return timeline
            if time.monotonic() > deadline:
                raise TimeoutError(f"{point} not reached within {timeout_s:.0f} s: {timeline.describe()}")
            time.sleep(interval_s)
