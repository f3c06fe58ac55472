"""On-demand profiles of a running service (`GET /debug/profile?seconds=N`): what its event loop spent N seconds on.

In-process pyinstrument, not py-spy: py-spy reads another process's memory through ptrace, which our pods drop
(no SYS_PTRACE). Our Python runs on the event loop's thread, so the request's handler samples that thread with
`async_mode="disabled"` while it awaits `asyncio.sleep(N)`: every coroutine the loop runs meanwhile is in the profile
(and the loop's idle time, in `select`). Code in other threads (`asyncio.to_thread`) or processes (the transcription
recogniser pool, ffmpeg) is not sampled: its await shows, not its work.

One module for both edges: ingest's admin route (FastAPI, API key) and the workers' health port (Starlette, a bearer
token, `profile_route`). Off by default; a profile reveals code paths and file names, so it is admin-only."""

import asyncio
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyinstrument import Profiler
from pyinstrument.renderers import HTMLRenderer, SpeedscopeRenderer
from pyinstrument.session import Session
from reelscope_telemetry import get_logger
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = get_logger(__name__)

PROFILE_PATH = "/debug/profile"
MIN_SECONDS = 1
MAX_SECONDS = 60
DEFAULT_SECONDS = 10
SAMPLE_INTERVAL_S = 0.001
MIN_TOKEN_CHARS = 16


class ProfileFormat(StrEnum):
    """What the profile is rendered as."""

    SPEEDSCOPE = "speedscope"
    """Speedscope's JSON file format: open it at https://www.speedscope.app."""
    HTML = "html"
    """pyinstrument's self-contained HTML page (call tree and flame view), to open from disk."""


class ProfileRequest(BaseModel):
    """The query of `GET /debug/profile`: how long to sample and what to answer with."""

    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(
        default=DEFAULT_SECONDS, ge=MIN_SECONDS, le=MAX_SECONDS, description="How long to sample the event loop"
    )
    format: ProfileFormat = Field(default=ProfileFormat.SPEEDSCOPE, description="speedscope (JSON) or html")


class ProfilingSettings(BaseSettings):
    """Whether `/debug/profile` exists at all (off by default: a disabled service answers 404 there)."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    profiling_enabled: bool = Field(
        default=False, description="Serve GET /debug/profile (admin-only): profiles reveal code paths, keep it off"
    )


class WorkerProfilingSettings(ProfilingSettings):
    """A worker's health port has no API keys: its profile route wants this bearer token, required when enabled."""

    # A validation error would otherwise echo its input, the token included.
    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore", hide_input_in_errors=True)

    profiling_token: SecretStr | None = Field(default=None, description="Bearer token of GET /debug/profile")
    profiling_token_file: Path | None = Field(default=None, description="A file holding the token (a secret mount)")

    @model_validator(mode="after")
    def _require_token(self) -> Self:
        if not self.profiling_enabled:
            return self
        if self.profiling_token is None and self.profiling_token_file is not None:
            try:
                self.profiling_token = SecretStr(self.profiling_token_file.read_text().strip())
            except OSError as exc:
                raise ValueError(f"cannot read REELSCOPE_PROFILING_TOKEN_FILE: {exc}") from None
        if self.profiling_token is None:
            raise ValueError(
                "REELSCOPE_PROFILING_ENABLED=true needs a token: set REELSCOPE_PROFILING_TOKEN or "
                "REELSCOPE_PROFILING_TOKEN_FILE"
            )
        if len(self.profiling_token.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"the profiling token is shorter than {MIN_TOKEN_CHARS} characters")
        return self

    @property
    def token(self) -> SecretStr:
        """The bearer token (only once enabled: the validator made sure it is there)."""
        assert self.profiling_token is not None, "profiling is not enabled"
        return self.profiling_token


class ProfilerBusy(Exception):
    """A profile is already being taken in this process (two samplers on one thread would disturb each other)."""


@dataclass(frozen=True)
class Profile:
    """A rendered profile and how to send it: as a download, never cached."""

    body: str
    media_type: str
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"', "Cache-Control": "no-store"}


def _render(session: Session, fmt: ProfileFormat) -> str:
    if fmt is ProfileFormat.HTML:
        return str(HTMLRenderer().render(session))
    return str(SpeedscopeRenderer().render(session))


class LoopProfiler:
    """Takes one profile at a time of the thread that awaits `take` (the event loop's)."""

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    async def take(self, request: ProfileRequest) -> Profile:
        """Sample the loop for `request.seconds`, then render (in a thread: a long profile takes a while)."""
        if self._busy:
            raise ProfilerBusy("a profile is already being taken; retry when it is done")
        self._busy = True  # no await since the check: nothing else on the loop can slip in between
        try:
            profiler = Profiler(interval=SAMPLE_INTERVAL_S, async_mode="disabled")
            profiler.start()
            try:
                await asyncio.sleep(request.seconds)
            finally:
                session = profiler.stop()  # also when cancelled: a sampler left running would slow the loop down
            body = await asyncio.to_thread(_render, session, request.format)
        finally:
            self._busy = False
        log.info("profile taken", seconds=request.seconds, format=request.format.value, samples=session.sample_count)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        if request.format is ProfileFormat.HTML:
            return Profile(body, "text/html; charset=utf-8", f"{self.service_name}-profile-{stamp}.html")
        return Profile(body, "application/json", f"{self.service_name}-profile-{stamp}.speedscope.json")


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def _authorized(request: Request, token: SecretStr) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


def profile_route(profiler: LoopProfiler, token: SecretStr) -> Route:
    """`GET /debug/profile` for a worker's health port: 401 without the bearer token, 422 on a bad query, 409 while
    another profile runs, else the profile."""

    async def profile(request: Request) -> Response:
        if not _authorized(request, token):
            return _problem(
                401,
                "Token missing or not valid",
                "send the profiling token: Authorization: Bearer <REELSCOPE_PROFILING_TOKEN>",
                {"WWW-Authenticate": 'Bearer realm="reelscope-worker"'},
            )
        try:
            query = ProfileRequest.model_validate(dict(request.query_params))
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            return _problem(422, "Invalid profile request", detail)
        try:
            taken = await profiler.take(query)
        except ProfilerBusy as exc:
            return _problem(409, "A profile is already running", str(exc))
        return Response(taken.body, media_type=taken.media_type, headers=taken.headers)

    return Route(PROFILE_PATH, profile, methods=["GET"])
