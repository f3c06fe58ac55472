"""Start a background process with its log file and PID file, wait until it is ready, stop it by PID."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ReadyCheck = Callable[[], bool]


def http_ok(url: str) -> ReadyCheck:
    """Ready when `url` answers 2xx. Anything that is not a well-formed HTTP answer means "not ready": a probe of
    a port in the kernel's ephemeral range that nobody listens on yet can connect to itself and read back its own
    request (`BadStatusLine('GET /readyz HTTP/1.1')`), which once failed the fault suite."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - fixed local URL
                return bool(200 <= response.status < 300)
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            return False

    return check


def port_open(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`. A TCP self-connection (the kernel picked `port` itself as
    the probe's source port, possible inside the ephemeral range) is not a listener."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0 and not is_self_connection(sock)


def is_self_connection(sock: socket.socket) -> bool:
    """Whether a connected TCP socket is connected to itself (same address and port at both ends)."""
    return bool(sock.getsockname() == sock.getpeername())


@dataclass
class Component:
    """One process of the stack."""

    name: str
    argv: list[str]
    ready: ReadyCheck
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    stop_command: list[str] | None = None


class ProcessManager:
    """PID files and logs under `run_dir`; only processes we started are ever signalled."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.pid_dir = run_dir / "pids"
        self.log_dir = run_dir / "logs"

    def pid_of(self, name: str) -> int | None:
        path = self.pid_dir / f"{name}.pid"
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            return None
        return pid

    def start(self, component: Component, timeout_s: float) -> None:
        """Start `component` unless it already runs; raise RuntimeError if it is not ready in time."""
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.pid_of(component.name) is not None and component.ready():
            print(f"  {component.name:<14} already running")
            return
        busy = [p for p in component.ports if port_open(p)]
        if busy:
            raise RuntimeError(f"{component.name}: port(s) {busy} already in use by another process")
        log_path = self.log_dir / f"{component.name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                component.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **component.env},
                start_new_session=True,  # its own process group: `down` stops it and its children
            )
        (self.pid_dir / f"{component.name}.pid").write_text(str(process.pid))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{component.name} exited with {process.returncode}; see {log_path}")
            if component.ready():
                print(f"  {component.name:<14} ready (pid {process.pid}, log {log_path})")
                return
            time.sleep(0.3)
        raise RuntimeError(f"{component.name} not ready after {timeout_s:.0f} s; see {log_path}")

    def stop(self, component: Component, timeout_s: float = 20.0) -> None:
        """Stop by PID: the component's own stop command first, then SIGTERM, then SIGKILL."""
        pid = self.pid_of(component.name)
        if pid is None:
            return
        if component.stop_command:
            subprocess.run(
                component.stop_command,
                env={**os.environ, **component.env},
                capture_output=True,
                timeout=60,
                check=False,
            )
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.2)
            if not _alive(pid):
                break
        (self.pid_dir / f"{component.name}.pid").unlink(missing_ok=True)
        _wait_ports_closed(component.ports, timeout_s)
        print(f"  {component.name:<14} stopped (pid {pid})")

    def kill(self, component: Component) -> int | None:
        """SIGKILL the component's whole process group at once (as the kernel's OOM killer or a node loss would):
        no cleanup runs, nothing is flushed. Returns the PID killed, None if it was not running."""
        pid = self.pid_of(component.name)
        if pid is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        (self.pid_dir / f"{component.name}.pid").unlink(missing_ok=True)
        _wait_ports_closed(component.ports, 10)
        return pid


def _wait_ports_closed(ports: tuple[int, ...], timeout_s: float) -> None:
    """A stopped process's listening ports can linger a moment: starting again before they close would fail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(port_open(p) for p in ports):
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
