"""`POST /v1/jobs` (upload a video, start a job), `GET /v1/jobs/{job_id}` (its state and progress) and
`DELETE /v1/jobs/{job_id}` (cancel it)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import JSONResponse
from reelscope_contracts import JobCancelled, JobKeys, JobSubmitted
from reelscope_messaging import PublishFailed
from reelscope_storage import StorageError
from reelscope_telemetry import current_trace_id, get_logger, job_scope

from reelscope_ingest.api.auth import ReaderDep, SubmitterDep
from reelscope_ingest.api.deps import AppState, StateDep
from reelscope_ingest.api.injected_faults import maybe_publish_poison
from reelscope_ingest.api.intake import take_in
from reelscope_ingest.api.problems import (
    INSUFFICIENT_SCOPE,
    INVALID_FORM_FIELD,
    INVALID_SOURCE_URL,
    INVALID_UPLOAD,
    INVALID_WEBHOOK_URL,
    JOB_ALREADY_FINISHED,
    JOB_NOT_FOUND,
    MEDIA_PROBE_UNAVAILABLE,
    QUEUE_UNAVAILABLE,
    RATE_LIMITED,
    SOURCE_DOWNLOAD_FAILED,
    STORAGE_QUOTA_EXCEEDED,
    STORAGE_UNAVAILABLE,
    TOO_MANY_JOBS,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA,
    UNSUPPORTED_MEDIA_TYPE,
    UPLOAD_TOO_LARGE,
    VALIDATION_ERROR,
    ApiProblem,
    problem_responses,
)
from reelscope_ingest.api.quotas import admit_submission
from reelscope_ingest.api.schemas import JobAccepted, JobView
from reelscope_ingest.api.upload import safe_suffix
from reelscope_ingest.api.views import job_view
from reelscope_ingest.core.store import owner_of
from reelscope_ingest.events import record_finished

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
log = get_logger(__name__)

JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The id POST /v1/jobs returned")]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=problem_responses(
        UNAUTHENTICATED,
        INSUFFICIENT_SCOPE,
        RATE_LIMITED,
        TOO_MANY_JOBS,
        UPLOAD_TOO_LARGE,
        STORAGE_QUOTA_EXCEEDED,
        UNSUPPORTED_MEDIA_TYPE,
        UNSUPPORTED_MEDIA,
        INVALID_UPLOAD,
        INVALID_WEBHOOK_URL,
        INVALID_SOURCE_URL,
        SOURCE_DOWNLOAD_FAILED,
        INVALID_FORM_FIELD,
        QUEUE_UNAVAILABLE,
        STORAGE_UNAVAILABLE,
        MEDIA_PROBE_UNAVAILABLE,
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "description": "Send the video as `file`, or give its `source_url` to download (one of them).",
                        "properties": {
                            "file": {"type": "string", "format": "binary", "description": "The video or audio"},
                            "source_url": {
                                "type": "string",
                                "format": "uri",
                                "maxLength": 2048,
                                "description": "A public http(s) URL to download the media from, instead of `file`",
                            },
                            "webhook_url": {"type": "string", "format": "uri", "maxLength": 2048},
                            "hls": {"type": "boolean", "description": "Also package HLS (default: server config)"},
                        },
                    }
                }
            },
        }
    },
)
async def submit_job(request: Request, state: StateDep, caller: SubmitterDep) -> JSONResponse:
    """Take the upload in (or download its source_url), check it is media, store it, record the job, and hand it
    to the pipeline."""
    allowance = await admit_submission(caller, state)
    if not state.broker.is_connected:
        # Refuse before reading the body: the job could not be queued, so why receive a gigabyte first.
        log.warning("upload refused: broker unavailable")
        raise ApiProblem(QUEUE_UNAVAILABLE, "the job queue is unavailable; try again shortly")
    job_id = uuid.uuid4().hex
    keys = JobKeys(job_id)
    with job_scope(job_id):
        intake = await take_in(request, state, job_id, allowance)
        input_key = keys.input(safe_suffix(intake.filename))
        try:
            await state.storage.put_file(input_key, intake.path, consume=True)
        except StorageError as exc:
            intake.path.unlink(missing_ok=True)
            log.error("upload not stored", error=str(exc))
            raise ApiProblem(STORAGE_UNAVAILABLE, "storage is unavailable; try again shortly") from None
        state.telemetry.instruments.upload_size.record(intake.size)
        submitted = JobSubmitted(
            job_id=job_id,
            input_key=input_key,
            original_filename=intake.filename,
            input_size_bytes=intake.size,
            hls=intake.hls,
            webhook_url=intake.webhook_url,
            owner=caller.owner,
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
        await maybe_publish_poison(state.broker, state.flags)
        state.telemetry.instruments.jobs_submitted.add(1)
        log.info(
            "job submitted",
            filename=intake.filename,
            size_bytes=intake.size,
            webhook=intake.webhook_url is not None,
            from_url=intake.source_url is not None,
        )
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


@router.get(
    "/{job_id}",
    response_model=JobView,
    responses=problem_responses(UNAUTHENTICATED, INSUFFICIENT_SCOPE, JOB_NOT_FOUND, VALIDATION_ERROR),
)
async def get_job(job_id: JobId, state: StateDep, caller: ReaderDep) -> JobView:
    """The job's status, overall and per-stage progress with ETA, outputs, transcript, failure and cost.

    Only the tenant that submitted it sees it: for any other it does not exist (404, not 403)."""
    job = await state.store.get(job_id, caller.tenant)
    if job is None:
        raise ApiProblem(JOB_NOT_FOUND, f"no job with id {job_id}")
    return job_view(job, state.settings.cpu_hour_price, state.settings.cost_currency, state.settings.grafana_url)


@router.delete(
    "/{job_id}",
    response_model=JobView,
    responses=problem_responses(
        UNAUTHENTICATED,
        INSUFFICIENT_SCOPE,
        JOB_NOT_FOUND,
        JOB_ALREADY_FINISHED,
        VALIDATION_ERROR,
        QUEUE_UNAVAILABLE,
        STORAGE_UNAVAILABLE,
    ),
)
async def cancel_job(job_id: JobId, state: StateDep, caller: SubmitterDep) -> JobView:
    """Cancel a job that has not finished: running work stops, outputs are removed, the owner is notified.

    Repeating it on a cancelled job is harmless (200); a job that already completed or failed answers 409.
    """
    with job_scope(job_id):
        cancellation = await state.store.cancel(job_id, caller.tenant)
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
                    JobCancelled(
                        job_id=job_id,
                        stage=cancellation.running_stage,
                        webhook_url=job.webhook_url,
                        owner=owner_of(job),
                    )
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
