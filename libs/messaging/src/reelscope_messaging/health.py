"""A small HTTP port for workers: `/healthz` (alive) and `/readyz` (connected and consuming), for
`make up`'s readiness wait and for Kubernetes probes."""

import contextlib
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own event loop: the worker, not uvicorn, owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def health_server(host: str, port: int, is_ready: Callable[[], bool]) -> uvicorn.Server:
    """Build (not start) the health server; `await server.serve()` runs it, `should_exit` stops it."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        ready = is_ready()
        return JSONResponse({"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503)

    app = Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz)])
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    return _EmbeddedServer(config)
