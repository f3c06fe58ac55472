"""Liveness and readiness: ready only when the database and RabbitMQ both answer."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from reelscope_ingest.api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    """Ready to take jobs: the database answers and the broker connection is open."""
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
