"""`POST /v1/jobs` (upload a video, start a job), `GET /v1/jobs/{job_id}` (its state and progress) and
`DELETE /v1/jobs/{job_id}` (cancel it)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, TypeAdapter, ValidationError
from reelscope_contracts import JobCancelled, JobKeys, JobSubmitted
from reelscope_messaging import PublishFailed
from reelscope_outbound import OutboundRefused, UrlPolicy
from reelscope_storage import StorageError
from reelscope_telemetry import current_trace_id, get_logger, job_scope

from reelscope_ingest.api.deps import AppState, StateDep
from reelscope_ingest.api.problems import (
    INVALID_FORM_FIELD,
    INVALID_UPLOAD,
    INVALID_WEBHOOK_URL,
    JOB_ALREADY_FINISHED,
    JOB_NOT_FOUND,
    QUEUE_UNAVAILABLE,
    STORAGE_UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    UPLOAD_TOO_LARGE,
    VALIDATION_ERROR,
    ApiProblem,
    ProblemType,
    problem_responses,
)
from reelscope_ingest.api.schemas import JobAccepted, JobView
from reelscope_ingest.api.upload import UploadError, receive_upload, safe_suffix
from reelscope_ingest.api.views import job_view
from reelscope_ingest.events import record_finished

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
log = get_logger(__name__)

_URL = TypeAdapter(AnyHttpUrl)
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The id POST /v1/jobs returned")]


# UploadError's status says which problem; any other 4xx it may grow is an invalid upload.
_UPLOAD_PROBLEMS: dict[int, ProblemType] = {413: UPLOAD_TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ApiProblem(INVALID_FORM_FIELD, f"{name} must be true or false")


async def _webhook(value: str | None, state: AppState) -> str | None:
    """A well-formed http(s) URL whose host resolves to public addresses only (or allowlisted ones), else 422.

    Notification checks again when it delivers (DNS may change in between) and connects to the checked address."""
    if value is None or not value.strip():
        return None
    if len(value) > 2048:
        raise ApiProblem(INVALID_WEBHOOK_URL, "webhook_url is longer than 2048 characters")
    try:
        url = str(_URL.validate_python(value.strip()))
    except ValidationError:
        raise ApiProblem(INVALID_WEBHOOK_URL, "webhook_url must be an absolute http(s) URL") from None
    try:
        await UrlPolicy.from_settings(state.settings).check_url(url)
    except OutboundRefused as exc:
        log.info("webhook_url refused", reason=exc.reason)
        raise ApiProblem(INVALID_WEBHOOK_URL, exc.reason) from None
    return url


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=problem_responses(
        UPLOAD_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        INVALID_UPLOAD,
        INVALID_WEBHOOK_URL,
        INVALID_FORM_FIELD,
        QUEUE_UNAVAILABLE,
        STORAGE_UNAVAILABLE,
    ),
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
                            "hls": {"type": "boolean", "description": "Also package HLS (default: server config)"},
                        },
                    }
                }
            },
        }
    },
)
async def submit_job(request: Request, state: StateDep) -> JSONResponse:
    """Stream the upload to scratch, store it, record the job, and hand it to the pipeline."""
    if not state.broker.is_connected:
        # Refuse before reading the body: the job could not be queued, so why receive a gigabyte first.
        log.warning("upload refused: broker unavailable")
        raise ApiProblem(QUEUE_UNAVAILABLE, "the job queue is unavailable; try again shortly")
    job_id = uuid.uuid4().hex
    keys = JobKeys(job_id)
    with job_scope(job_id):
        try:
            upload = await receive_upload(
                request.headers.get("content-type", ""),
                request.headers.get("content-length"),
                request.stream(),
                state.settings.scratch_dir / f"upload-{job_id}.part",
                state.settings.max_upload_bytes,
            )
        except UploadError as exc:
            log.info("upload refused", status_code=exc.status_code, reason=exc.message)
            raise ApiProblem(_UPLOAD_PROBLEMS.get(exc.status_code, INVALID_UPLOAD), exc.message) from None
        try:
            webhook_url = await _webhook(upload.fields.get("webhook_url"), state)
            hls = _flag("hls", upload.fields.get("hls"))
        except ApiProblem:
            upload.path.unlink(missing_ok=True)
            raise
        input_key = keys.input(safe_suffix(upload.filename))
        try:
            await state.storage.put_file(input_key, upload.path, consume=True)
        except StorageError as exc:
            upload.path.unlink(missing_ok=True)
            log.error("upload not stored", error=str(exc))
            raise ApiProblem(STORAGE_UNAVAILABLE, "storage is unavailable; try again shortly") from None
        state.telemetry.instruments.upload_size.record(upload.size)
        submitted = JobSubmitted(
            job_id=job_id,
            input_key=input_key,
            original_filename=upload.filename,
            input_size_bytes=upload.size,
            hls=hls,
            webhook_url=webhook_url,
        )
        trace_id = current_trace_id()
        await state.store.create(submitted, trace_id=trace_id)
        try:
            await state.broker.publish(submitted)
        except PublishFailed as exc:
            await state.store.delete(job_id)
            await state.storage.delete_prefix(keys.prefix)
            log.error("job not queued: broker unavailable", error=str(exc))
            raise ApiProblem(QUEUE_UNAVAILABLE, "the job queue is unavailable; try again shortly") from None
        state.telemetry.instruments.jobs_submitted.add(1)
        log.info("job submitted", filename=upload.filename, size_bytes=upload.size, webhook=webhook_url is not None)
    status_url = str(request.url_for("get_job", job_id=job_id))
    return JSONResponse(
        JobAccepted(job_id=job_id, trace_id=trace_id, status_url=status_url).model_dump(),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": status_url},
    )


async def _remove_outputs(state: AppState, keys: JobKeys) -> None:
    """Outputs of stages that finished before the cancel (a running stage discards its own)."""
    for prefix in (keys.media_prefix, keys.transcript_prefix):
        try:
            await state.storage.delete_prefix(prefix)
        except StorageError as exc:
            log.warning("outputs of a cancelled job not removed", prefix=prefix, error=str(exc))


@router.get("/{job_id}", response_model=JobView, responses=problem_responses(JOB_NOT_FOUND, VALIDATION_ERROR))
async def get_job(job_id: JobId, state: StateDep) -> JobView:
    """The job's status, overall and per-stage progress with ETA, outputs, transcript, failure and cost."""
    job = await state.store.get(job_id)
    if job is None:
        raise ApiProblem(JOB_NOT_FOUND, f"no job with id {job_id}")
    return job_view(job, state.settings.cpu_hour_price, state.settings.cost_currency, state.settings.grafana_url)


@router.delete(
    "/{job_id}",
    response_model=JobView,
    responses=problem_responses(
        JOB_NOT_FOUND, JOB_ALREADY_FINISHED, VALIDATION_ERROR, QUEUE_UNAVAILABLE, STORAGE_UNAVAILABLE
    ),
)
async def cancel_job(job_id: JobId, state: StateDep) -> JobView:
    """Cancel a job that has not finished: running work stops, outputs are removed, the owner is notified.

    Repeating it on a cancelled job is harmless (200); a job that already completed or failed answers 409.
    """
    with job_scope(job_id):
        cancellation = await state.store.cancel(job_id)
        if cancellation is None:
            raise ApiProblem(JOB_NOT_FOUND, f"no job with id {job_id}")
        job = cancellation.job
        if job.status != "cancelled":
            raise ApiProblem(JOB_ALREADY_FINISHED, f"job {job_id} already {job.status}; nothing to cancel")
        record_finished(cancellation.transition, state.telemetry, state.settings)
        if cancellation.announce:
            keys = JobKeys(job_id)
            try:
                await state.storage.put_bytes(keys.cancel_marker, b"cancelled by the client\n")
                if not state.broker.is_connected:
                    raise PublishFailed("broker unavailable")
                await state.broker.publish(
                    JobCancelled(job_id=job_id, stage=cancellation.running_stage, webhook_url=job.webhook_url)
                )
            except (PublishFailed, StorageError) as exc:
                log.error("job cancelled, but workers could not be told yet", error=str(exc))
                kind = STORAGE_UNAVAILABLE if isinstance(exc, StorageError) else QUEUE_UNAVAILABLE
                raise ApiProblem(
                    kind, "the job is cancelled, but workers could not be told yet; repeat the request"
                ) from None
            await state.store.mark_cancel_announced(job_id)
            log.info("job cancelled", stage=cancellation.running_stage)
            await _remove_outputs(state, keys)
    # The row as the cancel left it (what it shows cannot change afterwards): no second read.
    return job_view(job, state.settings.cpu_hour_price, state.settings.cost_currency, state.settings.grafana_url)
