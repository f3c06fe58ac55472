"""`POST /v1/jobs` (upload a video, start a job) and `GET /v1/jobs/{job_id}` (its state)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, TypeAdapter, ValidationError
from reelscope_contracts import JobPaths, JobSubmitted
from reelscope_messaging import PublishFailed
from reelscope_telemetry import current_trace_id, get_logger, job_scope

from reelscope_ingest.api.deps import StateDep
from reelscope_ingest.api.schemas import FailureView, JobAccepted, JobView, Problem, StageView
from reelscope_ingest.api.upload import UploadError, receive_upload, safe_suffix
from reelscope_ingest.core.db import JobRow
from reelscope_ingest.core.store import stage_view

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
log = get_logger(__name__)

_URL = TypeAdapter(AnyHttpUrl)
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The id POST /v1/jobs returned")]


def _webhook(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > 2048:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "webhook_url is longer than 2048 characters")
    try:
        return str(_URL.validate_python(value.strip()))
    except ValidationError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "webhook_url must be an absolute http(s) URL"
        ) from None


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses={
        413: {"model": Problem},
        415: {"model": Problem},
        422: {"model": Problem},
        503: {"model": Problem},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "webhook_url": {"type": "string", "format": "uri"},
                        },
                    }
                }
            },
        }
    },
)
async def submit_job(request: Request, state: StateDep) -> JSONResponse:
    """Stream the upload to storage, record the job, and hand it to the pipeline."""
    job_id = uuid.uuid4().hex
    paths = JobPaths(state.settings.storage_dir, job_id)
    with job_scope(job_id):
        try:
            upload = await receive_upload(
                request.headers.get("content-type", ""),
                request.headers.get("content-length"),
                request.stream(),
                paths.input_file(".upload"),
                state.settings.max_upload_bytes,
            )
        except UploadError as exc:
            log.info("upload refused", status_code=exc.status_code, reason=exc.message)
            raise HTTPException(exc.status_code, exc.message) from None
        try:
            webhook_url = _webhook(upload.fields.get("webhook_url"))
        except HTTPException:
            upload.path.unlink(missing_ok=True)
            raise
        stored = upload.path.rename(paths.input_file(safe_suffix(upload.filename)))
        state.telemetry.instruments.upload_size.record(upload.size)
        submitted = JobSubmitted(
            job_id=job_id,
            input_path=paths.relative(stored),
            original_filename=upload.filename,
            webhook_url=webhook_url,
        )
        trace_id = current_trace_id()
        await state.store.create(submitted, input_size=upload.size, trace_id=trace_id)
        try:
            await state.broker.publish(submitted)
        except PublishFailed as exc:
            await state.store.delete(job_id)
            stored.unlink(missing_ok=True)
            log.error("job not queued: broker unavailable", error=str(exc))
            return JSONResponse(
                {"detail": "the job queue is unavailable; try again shortly"},
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        state.telemetry.instruments.jobs_submitted.add(1)
        log.info("job submitted", filename=upload.filename, size_bytes=upload.size, webhook=webhook_url is not None)
    status_url = str(request.url_for("get_job", job_id=job_id))
    return JSONResponse(
        JobAccepted(job_id=job_id, trace_id=trace_id, status_url=status_url).model_dump(),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": status_url},
    )


@router.get("/{job_id}", response_model=JobView, responses={404: {"model": Problem}})
async def get_job(job_id: JobId, state: StateDep) -> JobView:
    """The job's status, per-stage status and timings, outputs, transcript and failure reason."""
    job = await state.store.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job with id {job_id}")
    return _view(job)


def _view(job: JobRow) -> JobView:
    failure = (
        FailureView(stage=job.failure_stage, reason=job.failure_reason) if job.failure_reason is not None else None
    )
    return JobView(
        job_id=job.id,
        status=job.status,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        duration_s=(job.finished_at - job.created_at).total_seconds() if job.finished_at else None,
        trace_id=job.trace_id,
        original_filename=job.original_filename,
        input_size_bytes=job.input_size,
        media_duration_s=job.media_duration_s,
        stages=[StageView(**stage_view(s)) for s in job.stages],
        renditions=job.renditions,
        transcript=job.transcript,
        failure=failure,
    )
