"""Exception handlers that turn every error into problem details: our `ApiProblem`s, Starlette's 404/405 (and any
other `HTTPException`), FastAPI's request validation errors, and, as a last resort, any exception: logged in full,
answered with a generic 500 that reveals nothing of it."""

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from reelscope_telemetry import get_logger
from starlette.exceptions import HTTPException

from reelscope_ingest.api.problems import (
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    VALIDATION_ERROR,
    ApiProblem,
    ProblemType,
    problem_response,
)
from reelscope_ingest.api.request_id import REQUEST_ID_HEADER, request_id_of
from reelscope_ingest.api.schemas import ValidationIssue
from reelscope_ingest.api.security_headers import SecurityHeaders

log = get_logger(__name__)

MAX_ISSUES = 20


async def _api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        exc.kind, exc.detail, instance=request.url.path, request_id=request_id_of(request.scope), headers=exc.headers
    )


def _http_kind(status: int) -> ProblemType:
    """404 and 405 from routing; any other HTTPException (raised by a library) keeps its status."""
    if status == 404:
        return NOT_FOUND
    if status == 405:
        return METHOD_NOT_ALLOWED
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return ProblemType(phrase.lower().replace(" ", "_").replace("-", "_"), status, phrase)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = _http_kind(exc.status_code)
    if kind is NOT_FOUND:
        detail = f"nothing at {request.url.path}"
    elif kind is METHOD_NOT_ALLOWED:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}" + (f"; allowed: {allowed}" if allowed else "")
    else:
        detail = exc.detail if isinstance(exc.detail, str) else kind.title
    return problem_response(
        kind, detail, instance=request.url.path, request_id=request_id_of(request.scope), headers=exc.headers
    )


def _issues(exc: RequestValidationError) -> list[ValidationIssue]:
    return [
        ValidationIssue(
            loc=[part for part in error.get("loc", ()) if isinstance(part, str | int)],
            msg=str(error.get("msg", "")),
            type=str(error.get("type", "")),
        )
        for error in exc.errors()[:MAX_ISSUES]
    ]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = _issues(exc)
    detail = "; ".join(f"{'.'.join(str(p) for p in issue.loc)}: {issue.msg}" for issue in issues) or "invalid request"
    return problem_response(
        VALIDATION_ERROR, detail, instance=request.url.path, request_id=request_id_of(request.scope), errors=issues
    )


def _last_resort(security: SecurityHeaders) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        """Starlette sends this one past our middleware, so it carries the request id and security headers itself."""
        request_id = request_id_of(request.scope)
        # Starlette calls this inside its `except`, so `exception` logs the traceback (and the redactor masks it).
        log.exception(
            "unhandled error",
            error=f"{type(exc).__name__}: {exc}",
            request_id=request_id,
            method=request.method,
            path=request.url.path,
        )
        headers = {REQUEST_ID_HEADER: request_id, **security.for_path(request.url.path)}
        detail = f"an unexpected error occurred; quote request id {request_id} when reporting it"
        return problem_response(
            INTERNAL_ERROR, detail, instance=request.url.path, request_id=request_id, headers=headers
        )

    return internal_error


def install_problem_handlers(app: FastAPI, security: SecurityHeaders) -> None:
    """Answer every error of `app` with problem details."""
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _last_resort(security))
