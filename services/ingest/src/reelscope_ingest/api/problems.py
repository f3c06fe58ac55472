"""Problem details (RFC 9457): the one shape of every error the API answers, and the one way to raise one.

Each kind of problem is a `ProblemType` in this catalog: a stable snake_case `code` (what clients branch on), its
HTTP status and a short title. Its `type` URI is `https://reelscope.dev/problems/<code>`: an identifier, stable
across releases, described in docs/api-errors.md (it need not be fetched). Route code and dependencies raise
`ApiProblem(JOB_NOT_FOUND, "no job with id x")`; the handlers in `error_handlers` turn it into the body.
Adding a kind of error is adding one constant here (and a row in docs/api-errors.md, which a test checks).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from reelscope_ingest.api.schemas import Problem, ValidationIssue

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://reelscope.dev/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of error: its machine code, HTTP status and human title."""

    code: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.code


# Errors of the upload and its form (POST /v1/jobs).
UPLOAD_TOO_LARGE = ProblemType("upload_too_large", 413, "Upload too large")
UNSUPPORTED_MEDIA_TYPE = ProblemType("unsupported_media_type", 415, "Unsupported media type")
INVALID_UPLOAD = ProblemType("invalid_upload", 422, "Invalid upload")
INVALID_WEBHOOK_URL = ProblemType("invalid_webhook_url", 422, "Invalid webhook URL")
INVALID_FORM_FIELD = ProblemType("invalid_form_field", 422, "Invalid form field")
UNSUPPORTED_MEDIA = ProblemType("unsupported_media", 415, "Not an accepted media file")
INVALID_SOURCE_URL = ProblemType("invalid_source_url", 422, "Invalid source URL")
SOURCE_DOWNLOAD_FAILED = ProblemType("source_download_failed", 422, "Source download failed")
MEDIA_PROBE_UNAVAILABLE = ProblemType("media_probe_unavailable", 503, "Media check unavailable")
# Jobs.
JOB_NOT_FOUND = ProblemType("job_not_found", 404, "Job not found")
JOB_ALREADY_FINISHED = ProblemType("job_already_finished", 409, "Job already finished")
# API keys (admin scope).
KEY_NOT_FOUND = ProblemType("key_not_found", 404, "API key not found")
PROFILE_IN_PROGRESS = ProblemType("profile_in_progress", 409, "A profile is already running")
# Who is calling, and how much they may do (api/auth.py, api/quotas.py).
UNAUTHENTICATED = ProblemType("unauthenticated", 401, "API key missing or not valid")
INSUFFICIENT_SCOPE = ProblemType("insufficient_scope", 403, "API key lacks the scope")
RATE_LIMITED = ProblemType("rate_limited", 429, "Too many submissions")
TOO_MANY_JOBS = ProblemType("too_many_jobs", 429, "Too many unfinished jobs")
STORAGE_QUOTA_EXCEEDED = ProblemType("storage_quota_exceeded", 413, "Storage quota exceeded")
# Dependencies that are down for a while: the answer carries Retry-After.
QUEUE_UNAVAILABLE = ProblemType("queue_unavailable", 503, "Job queue unavailable")
STORAGE_UNAVAILABLE = ProblemType("storage_unavailable", 503, "Storage unavailable")
# Protocol-level errors any request can get.
VALIDATION_ERROR = ProblemType("validation_error", 422, "Request validation failed")
# What FastAPI's own HTTPException(400) for a JSON body it cannot decode becomes (error_handlers._http_kind).
BAD_REQUEST = ProblemType("bad_request", 400, "Bad Request")
NOT_FOUND = ProblemType("not_found", 404, "Not found")
METHOD_NOT_ALLOWED = ProblemType("method_not_allowed", 405, "Method not allowed")
INTERNAL_ERROR = ProblemType("internal_error", 500, "Internal server error")

CATALOG: tuple[ProblemType, ...] = tuple(v for v in list(globals().values()) if isinstance(v, ProblemType))
"""Every problem type this service answers with (docs/api-errors.md lists each)."""

RETRY_AFTER_S = 5


class ApiProblem(Exception):
    """Raise at the edge (a route or a dependency) to answer with a problem: status and title come from `kind`,
    `detail` says what happened in this request, `headers` go on the response (Retry-After, WWW-Authenticate)."""

    def __init__(self, kind: ProblemType, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = dict(headers or {})
        if kind.status == 503:
            self.headers.setdefault("Retry-After", str(RETRY_AFTER_S))


def problem_response(
    kind: ProblemType,
    detail: str,
    *,
    instance: str,
    request_id: str,
    headers: Mapping[str, str] | None = None,
    errors: list[ValidationIssue] | None = None,
) -> JSONResponse:
    """The `application/problem+json` response for one problem; `instance` is the request path (never the query,
    which may hold secrets)."""
    body = Problem(
        type=kind.uri,
        title=kind.title,
        status=kind.status,
        detail=detail,
        instance=instance,
        code=kind.code,
        request_id=request_id,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=kind.status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*kinds: ProblemType) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route that answers with these problems (and, like every route, 500): one entry per
    status, typed `application/problem+json`, whose schema pins `status` and the possible `code`s."""
    by_status: dict[int, list[ProblemType]] = {}
    for kind in (*kinds, INTERNAL_ERROR):
        by_status.setdefault(kind.status, []).append(kind)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, group in sorted(by_status.items()):
        codes = [kind.code for kind in group]
        pinned = {"properties": {"status": {"const": status}, "code": {"enum": codes}}}
        entry: dict[str, Any] = {
            "description": "Problem details; `code` is " + ", ".join(f"`{k.code}` ({k.title})" for k in group),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"allOf": [_PROBLEM_REF, pinned]}}},
        }
        if status == 503:
            entry["headers"] = {
                "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
            }
        responses[status] = entry
    return responses


def add_problem_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Register `Problem` in the document's components (the responses above refer to it by `$ref`)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    full = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(full.pop("$defs", {}))
    schemas["Problem"] = full
    return openapi
