"""Take a submission in: the streamed upload (or the download of its `source_url`), its form fields checked, and
its content checked as media, before anything is stored. Every refusal is a problem with a precise code, and
leaves no file behind."""

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from opentelemetry.trace import StatusCode
from pydantic import AnyHttpUrl, TypeAdapter, ValidationError
from reelscope_outbound import DownloadFailed, DownloadTooLarge, OutboundRefused, UrlPolicy, download
from reelscope_telemetry import get_logger

from reelscope_ingest.api.content import ContentRejected, ProbeUnavailable, check_upload
from reelscope_ingest.api.deps import AppState
from reelscope_ingest.api.problems import (
    INVALID_FORM_FIELD,
    INVALID_SOURCE_URL,
    INVALID_UPLOAD,
    INVALID_WEBHOOK_URL,
    MEDIA_PROBE_UNAVAILABLE,
    SOURCE_DOWNLOAD_FAILED,
    STORAGE_QUOTA_EXCEEDED,
    UNSUPPORTED_MEDIA,
    UNSUPPORTED_MEDIA_TYPE,
    UPLOAD_TOO_LARGE,
    ApiProblem,
    ProblemType,
)
from reelscope_ingest.api.quotas import Allowance
from reelscope_ingest.api.upload import SOURCE_FIELD, UploadError, receive_upload

log = get_logger(__name__)

_URL = TypeAdapter(AnyHttpUrl)
MAX_URL_CHARS = 2048
MAX_REDIRECTS = 3
# UploadError's status says which problem; any other 4xx it may grow is an invalid upload.
_UPLOAD_PROBLEMS: dict[int, ProblemType] = {413: UPLOAD_TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Intake:
    """A submission ready to store: the media on local disk, and what the form asked for."""

    path: Path
    filename: str
    size: int
    webhook_url: str | None
    hls: bool | None
    source_url: str | None


def _flag(name: str, value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ApiProblem(INVALID_FORM_FIELD, f"{name} must be true or false")


def _absolute_url(name: str, value: str, kind: ProblemType) -> str:
    if len(value) > MAX_URL_CHARS:
        raise ApiProblem(kind, f"{name} is longer than {MAX_URL_CHARS} characters")
    try:
        return str(_URL.validate_python(value.strip()))
    except ValidationError:
        raise ApiProblem(kind, f"{name} must be an absolute http(s) URL") from None


async def _webhook(value: str | None, state: AppState) -> str | None:
    """A well-formed http(s) URL whose host resolves to public addresses only (or allowlisted ones), else 422.

    Notification checks again when it delivers (DNS may change in between) and connects to the checked address."""
    if value is None or not value.strip():
        return None
    url = _absolute_url("webhook_url", value, INVALID_WEBHOOK_URL)
    try:
        await UrlPolicy.from_settings(state.settings).check_url(url)
    except OutboundRefused as exc:
        log.info("webhook_url refused", reason=exc.reason)
        raise ApiProblem(INVALID_WEBHOOK_URL, exc.reason) from None
    return url


def _too_large(allowance: Allowance, detail: str) -> ApiProblem:
    if allowance.quota_bound:
        return ApiProblem(
            STORAGE_QUOTA_EXCEEDED,
            f"the upload would pass this API key's storage quota of {allowance.quota_bytes} bytes "
            f"({allowance.max_bytes} bytes are left)",
        )
    return ApiProblem(UPLOAD_TOO_LARGE, detail)


async def _fetch(url: str, destination: Path, state: AppState, allowance: Allowance) -> int:
    """Download `source_url` to `destination`: every address and redirect checked, bounded in size and time."""
    try:
        fetched = await download(
            url,
            UrlPolicy.for_sources(state.settings),
            destination,
            max_bytes=allowance.max_bytes,
            timeout_s=state.settings.source_download_timeout_s,
            max_redirects=MAX_REDIRECTS,
        )
    except OutboundRefused as exc:
        log.info("source_url refused", reason=exc.reason)
        raise ApiProblem(INVALID_SOURCE_URL, exc.reason) from None
    except DownloadTooLarge as exc:
        log.info("source_url too large", reason=exc.reason)
        raise _too_large(allowance, exc.reason) from None
    except DownloadFailed as exc:
        log.info("source_url download failed", reason=exc.reason, transient=exc.transient)
        raise ApiProblem(SOURCE_DOWNLOAD_FAILED, exc.reason) from None
    return fetched.size_bytes


async def take_in(request: Request, state: AppState, job_id: str, allowance: Allowance) -> Intake:
    """Receive the form (and the file, or download its `source_url`), check fields and content; or a problem."""
    destination = state.settings.scratch_dir / f"upload-{job_id}.part"
    try:
        upload = await receive_upload(
            request.headers.get("content-type", ""),
            request.headers.get("content-length"),
            request.stream(),
            destination,
            allowance.max_bytes,
        )
    except UploadError as exc:
        log.info("upload refused", status_code=exc.status_code, reason=exc.message)
        if exc.status_code == 413:
            raise _too_large(allowance, exc.message) from None
        raise ApiProblem(_UPLOAD_PROBLEMS.get(exc.status_code, INVALID_UPLOAD), exc.message) from None
    try:
        webhook_url = await _webhook(upload.fields.get("webhook_url"), state)
        hls = _flag("hls", upload.fields.get("hls"))
        source_url: str | None = None
        size = upload.size
        filename = upload.filename
        if filename is None:
            source_url = _absolute_url(SOURCE_FIELD, upload.fields[SOURCE_FIELD], INVALID_SOURCE_URL)
            size = await _fetch(source_url, destination, state, allowance)
            filename = Path(source_url.split("?", 1)[0]).name[:255] or "source"
        await _check_content(destination, state)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return Intake(destination, filename, size, webhook_url, hls, source_url)


async def _check_content(path: Path, state: AppState) -> None:
    # Its own span, as in transcode's: the job's trace shows what ffprobe costs (and the pipeline benchmark can
    # tell orchestration from media work). A refused upload is the client's fault: not an error of the span.
    with state.telemetry.tracer.start_as_current_span(
        "ffprobe", record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            media = await check_upload(
                path, allowed=state.settings.allowed_containers, timeout_s=state.settings.probe_timeout_s
            )
        except ContentRejected as exc:
            log.info("upload refused: not accepted media", code=exc.code, reason=exc.reason)
            raise ApiProblem(UNSUPPORTED_MEDIA, exc.reason) from None
        except ProbeUnavailable as exc:
            span.set_status(StatusCode.ERROR, exc.reason)
            log.error("upload not checked: ffprobe unavailable", reason=exc.reason)
            raise ApiProblem(MEDIA_PROBE_UNAVAILABLE, "the media check is unavailable; try again shortly") from None
    log.info("upload is media", container=media.container, streams=list(media.stream_types))
