"""A small client of the ingest API and of Prometheus's HTTP API, shared by the CLI, the demo and tests."""

import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

TERMINAL = {"completed", "failed"}
STAGE_MARKS = {"pending": "·", "running": "…", "succeeded": "✓", "skipped": "-", "failed": "✗"}


class _Closing:
    """Context-manager support for clients that hold an httpx.Client."""

    _http: httpx.Client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class ApiClient(_Closing):
    """Calls `/v1/jobs` on one ingest instance."""

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def submit(self, path: Path, webhook_url: str | None = None) -> dict[str, Any]:
        data = {"webhook_url": webhook_url} if webhook_url else {}
        with path.open("rb") as handle:
            response = self._http.post("/v1/jobs", files={"file": (path.name, handle)}, data=data)
        if response.status_code != 202:
            raise RuntimeError(f"submission refused ({response.status_code}): {response.text}")
        accepted: dict[str, Any] = response.json()
        return accepted

    def job(self, job_id: str) -> dict[str, Any]:
        response = self._http.get(f"/v1/jobs/{job_id}")
        if response.status_code != 200:
            raise RuntimeError(f"cannot read job {job_id} ({response.status_code}): {response.text}")
        job: dict[str, Any] = response.json()
        return job

    def wait(self, job_id: str, timeout_s: float = 300.0, show: bool = False) -> dict[str, Any]:
        """Poll until the job is completed or failed (drawing progress when `show`)."""
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


def progress_line(job: dict[str, Any], width: int = 24) -> str:
    """`[#########...] 2/3 transcode ✓ transcription … notification ·  processing`."""
    processing = [s for s in job["stages"] if s["name"] != "notification"]
    done = sum(s["status"] in ("succeeded", "skipped", "failed") for s in processing)
    filled = round(width * done / max(len(processing), 1))
    stages = " ".join(f"{s['name']} {STAGE_MARKS.get(s['status'], '?')}" for s in job["stages"])
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{len(processing)}  {stages}  {job['status']}"


class PrometheusClient(_Closing):
    """Instant queries against Prometheus's HTTP API."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10.0)

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = self._http.get("/api/v1/query", params={"query": promql})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def exemplars(self, promql: str, window_s: float = 3600) -> list[dict[str, Any]]:
        now = time.time()
        response = self._http.get(
            "/api/v1/query_exemplars", params={"query": promql, "start": now - window_s, "end": now}
        )
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data
