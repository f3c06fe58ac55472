"""`/debug/profile`: a profile of ingest's event loop for a key with the `admin` scope (docs/profiling.md).
Mounted only when `REELSCOPE_PROFILING_ENABLED=true`; otherwise the path is absent, from the OpenAPI document too."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from reelscope_messaging.profiling import PROFILE_PATH, LoopProfiler, ProfilerBusy, ProfileRequest

from reelscope_ingest.api.auth import AdminDep
from reelscope_ingest.api.problems import (
    INSUFFICIENT_SCOPE,
    PROFILE_IN_PROGRESS,
    UNAUTHENTICATED,
    VALIDATION_ERROR,
    ApiProblem,
    problem_responses,
)

router = APIRouter(tags=["debug"])


def get_profiler(request: Request) -> LoopProfiler:
    profiler: LoopProfiler = request.app.state.profiler
    return profiler


ProfilerDep = Annotated[LoopProfiler, Depends(get_profiler)]

_PROFILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The profile, as a download: speedscope JSON (open at https://www.speedscope.app) or "
        "pyinstrument's HTML page (`format=html`)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}},
        },
        "headers": {
            "Content-Disposition": {"description": "attachment; filename=…", "schema": {"type": "string"}},
        },
    }
}


@router.get(
    PROFILE_PATH,
    response_class=Response,
    responses={
        **_PROFILE_CONTENT,
        **problem_responses(UNAUTHENTICATED, INSUFFICIENT_SCOPE, PROFILE_IN_PROGRESS, VALIDATION_ERROR),
    },
)
async def profile(query: Annotated[ProfileRequest, Query()], profiler: ProfilerDep, admin: AdminDep) -> Response:
    """Sample ingest's event loop for `seconds` (1 to 60) and answer the profile; one at a time per process."""
    try:
        taken = await profiler.take(query)
    except ProfilerBusy as exc:
        raise ApiProblem(PROFILE_IN_PROGRESS, str(exc)) from None
    return Response(taken.body, media_type=taken.media_type, headers=taken.headers)
