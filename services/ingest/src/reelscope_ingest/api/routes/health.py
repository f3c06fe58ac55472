"""Liveness and readiness: ready only when the database and RabbitMQ both answer, and not once shutdown began."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from reelscope_ingest.api.deps import StateDep
from reelscope_ingest.api.problems import problem_responses
from reelscope_ingest.api.schemas import Readiness
from reelscope_ingest.shutdown import ShutdownState

router = APIRouter(tags=["health"])


def get_shutdown(request: Request) -> ShutdownState:
    shutdown: ShutdownState = request.app.state.shutdown
    return shutdown


ShutdownDep = Annotated[ShutdownState, Depends(get_shutdown)]


@router.get("/healthz", responses=problem_responses())
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "Not ready (a dependency is down) or stopping: a probe report"},
        **problem_responses(),
    },
)
async def readyz(state: StateDep, shutdown: ShutdownDep) -> JSONResponse:
    """Ready to take jobs: the database answers and the broker connection is open; 503 "stopping" as soon as
    SIGTERM arrived, before anything else stops."""
    if shutdown.stopping:
        return JSONResponse({"status": "stopping"}, status_code=503)
    checks: dict[str, str] = {}
    try:
        await state.store.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["broker"] = "ok" if state.broker.is_connected else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )
