"""Small clients of the ingest API, Prometheus's HTTP API and RabbitMQ's management API, shared by the CLI, the
demo and tests."""

import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from reelscope_cli.stack.settings import StackSettings

TERMINAL = {"completed", "failed", "cancelled"}
STAGE_MARKS = {"pending": "·", "running": "…", "succeeded": "✓", "skipped": "-", "failed": "✗", "cancelled": "⊘"}


class _Closing:
    """Context-manager support for clients that hold an httpx.Client."""

    _http: httpx.Client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class ApiError(RuntimeError):
    """The API answered another status than expected; `problem` is its problem-details body (empty if none)."""

    def __init__(self, failure: str, response: httpx.Response) -> None:
        super().__init__(f"{failure} ({response.status_code}): {response.text}")
        self.status_code = response.status_code
        problem: dict[str, Any] = {}
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = response.json()
        self.problem = problem
        self.retry_after = response.headers.get("Retry-After")


def _expect(response: httpx.Response, status: int, failure: str) -> dict[str, Any]:
    """The JSON body of a response with the expected status; otherwise an ApiError saying what failed."""
    if response.status_code != status:
        raise ApiError(failure, response)
    body: dict[str, Any] = response.json()
    return body


class ApiClient(_Closing):
    """Calls `/v1/jobs` on one ingest instance."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers)

    @classmethod
    def for_stack(cls, settings: StackSettings, timeout_s: float = 30.0) -> "ApiClient":
        """A client of a local stack, with the key `reelscope-stack up` made for it."""
        try:
            key = settings.api_key_file.read_text().strip()
        except FileNotFoundError:
            raise RuntimeError(
                f"no API key at {settings.api_key_file}: start the stack (`make up`) or set REELSCOPE_API_KEY"
            ) from None
        return cls(settings.ingest_url, key, timeout_s)

    def submit(self, path: Path, webhook_url: str | None = None, hls: bool | None = None) -> dict[str, Any]:
        data = {"webhook_url": webhook_url} if webhook_url else {}
        if hls is not None:
            data["hls"] = "true" if hls else "false"
        with path.open("rb") as handle:
            response = self._http.post("/v1/jobs", files={"file": (path.name, handle)}, data=data)
        return _expect(response, 202, "submission refused")

    def job(self, job_id: str) -> dict[str, Any]:
        return _expect(self._http.get(f"/v1/jobs/{job_id}"), 200, f"cannot read job {job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a job; returns the job as it is now (status `cancelled`)."""
        return _expect(self._http.delete(f"/v1/jobs/{job_id}"), 200, f"cannot cancel job {job_id}")

    def wait(self, job_id: str, timeout_s: float = 300.0, show: bool = False) -> dict[str, Any]:
        """Poll until the job is final (drawing a progress bar when `show`)."""
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            job = self.job(job_id)
            if show:
                line = progress_line(job)
                if line != last:
                    end = "\n" if job["status"] in TERMINAL or not sys.stdout.isatty() else ""
                    print(f"\r{line}", end=end, flush=True)
                    last = line
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout_s:.0f} s")
            time.sleep(0.5)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes:d}:{secs:02d}"


def progress_line(job: dict[str, Any], width: int = 30) -> str:
    """`[##########..........]  33.0% ETA 0:12  transcode 55% … | transcription · | notification ·  processing`."""
    progress = job.get("progress") or {"percent": 0.0, "eta_seconds": None}
    percent = float(progress["percent"])
    filled = round(width * percent / 100)
    stages = " | ".join(
        f"{s['name']} {s['percent']:.0f}% {STAGE_MARKS.get(s['status'], '?')}"
        if s["status"] == "running"
        else f"{s['name']} {STAGE_MARKS.get(s['status'], '?')}"
        for s in job["stages"]
    )
    eta = "" if job["status"] in TERMINAL else f" ETA {_clock(progress['eta_seconds'])}"
    return f"[{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}%{eta}  {stages}  {job['status']}"


class PrometheusClient(_Closing):
    """Instant queries against Prometheus's HTTP API."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10.0)

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = self._http.get("/api/v1/query", params={"query": promql})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Every pending and firing alert the rules produce now (GET /api/v1/alerts)."""
        response = self._http.get("/api/v1/alerts")
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()["data"]["alerts"]
        return alerts

    def exemplars(self, promql: str, window_s: float = 3600) -> list[dict[str, Any]]:
        now = time.time()
        response = self._http.get(
            "/api/v1/query_exemplars", params={"query": promql, "start": now - window_s, "end": now}
        )
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data


class RabbitMQManagementClient(_Closing):
    """Calls RabbitMQ's management HTTP API (queues, connections, vhosts, publishing), as `guest` by default."""

    def __init__(
        self,
        base_url: str,
        user: str = "guest",
        password: str = "guest",  # noqa: S107 - the local stack's RabbitMQ default, on 127.0.0.1 only
        timeout_s: float = 30.0,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, auth=(user, password), timeout=timeout_s)

    def call(self, method: str, path: str, body: object = None) -> Any:
        """`path` under /api (percent-encoded by the caller); the JSON answer, or None for an empty one."""
        response = self._http.request(method, f"/api{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None
