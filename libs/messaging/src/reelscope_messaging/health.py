"""A small HTTP port for workers: `/healthz` (alive) and `/readyz` (connected and consuming, and not stopping),
for `make up`'s readiness wait and for Kubernetes probes; `/debug/profile` too when profiling is enabled (profiling.py).
Never expose this port outside the cluster."""

import contextlib
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route


class Readiness(StrEnum):
    """What `/readyz` answers: only `ready` is a 200."""

    READY = "ready"
    NOT_READY = "not ready"
    STOPPING = "stopping"
    """Shutdown began: the worker takes no more messages (the probe turns 503 before anything else stops)."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own event loop: the worker, not uvicorn, owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def health_server(
    host: str, port: int, readiness: Callable[[], Readiness], extra_routes: Sequence[BaseRoute] = ()
) -> uvicorn.Server:
    """Build (not start) the health server, with `extra_routes` (the profile route) beside the probes;
    `await server.serve()` runs it, `should_exit` stops it."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        state = readiness()
        return JSONResponse({"status": state.value}, status_code=200 if state is Readiness.READY else 503)

    app = Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz), *extra_routes])
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    return _EmbeddedServer(config)
