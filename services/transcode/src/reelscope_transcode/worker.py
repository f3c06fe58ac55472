"""The transcode stage: `job.submitted` in, renditions and a speech WAV out, `job.transcoded` published."""

from collections.abc import Callable
from pathlib import Path

from reelscope_contracts import (
    JobEvent,
    JobPaths,
    JobSubmitted,
    JobTranscoded,
    Rendition,
    StageName,
    StageStarted,
)
from reelscope_messaging import StageFailed, WorkerContext
from reelscope_messaging.consumer import Handler
from reelscope_telemetry import attributes, get_logger

from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.ladder import ffmpeg_command, plan_ladder
from reelscope_transcode.probe import last_error_line, probe, run_tool

log = get_logger(__name__)


def build_handler(settings: TranscodeSettings) -> Callable[[WorkerContext], Handler]:
    """Bind settings now; the worker runtime supplies broker and telemetry at start-up."""

    def factory(ctx: WorkerContext) -> Handler:
        async def handle(event: JobEvent) -> None:
            if not isinstance(event, JobSubmitted):
                raise StageFailed(f"transcode cannot handle a {event.kind} message")
            await transcode(event, settings, ctx)

        return handle

    return factory


async def transcode(event: JobSubmitted, settings: TranscodeSettings, ctx: WorkerContext) -> None:
    """Probe, encode the ladder in one ffmpeg run, record sizes, publish the next event."""
    tracer = ctx.telemetry.tracer
    paths = JobPaths(settings.storage_dir, event.job_id)
    await ctx.broker.publish(StageStarted(job_id=event.job_id, stage=StageName.TRANSCODE))
    try:
        source = paths.resolve(event.input_path)
    except ValueError as exc:
        raise StageFailed(f"input path refused: {exc}") from exc

    with tracer.start_as_current_span("ffprobe") as span:
        info = await probe(source, settings.ffprobe_timeout_s)
        span.set_attributes(
            {
                attributes.MEDIA_DURATION: info.duration_seconds,
                "reelscope.media.width": info.width,
                "reelscope.media.height": info.height,
                "reelscope.media.video_codec": info.video_codec,
                "reelscope.media.has_audio": info.has_audio,
            }
        )
    log.info(
        "input probed",
        duration_s=info.duration_seconds,
        width=info.width,
        height=info.height,
        has_audio=info.has_audio,
    )

    ladder = plan_ladder(info, settings.rendition_heights, paths.rendition)
    audio_out = paths.audio if info.has_audio else None
    for target in [r.path for r in ladder] + ([audio_out] if audio_out else []):
        target.parent.mkdir(parents=True, exist_ok=True)
    command = ffmpeg_command(
        source,
        ladder,
        audio_out,
        preset=settings.x264_preset,
        crf=settings.x264_crf,
        audio_bitrate=settings.audio_bitrate,
    )
    with tracer.start_as_current_span("ffmpeg.transcode") as span:
        span.set_attributes(
            {
                attributes.RENDITIONS: [r.name for r in ladder],
                "reelscope.audio_extracted": audio_out is not None,
                "process.executable.name": "ffmpeg",
            }
        )
        code, _, stderr = await run_tool(command, settings.ffmpeg_timeout_s)
        span.set_attribute("process.exit.code", code)
        if code != 0:
            raise StageFailed(f"ffmpeg could not transcode the input: {last_error_line(stderr)}")

    renditions = []
    for planned in ladder:
        size = planned.path.stat().st_size
        ctx.telemetry.instruments.rendition_size.record(size, {attributes.RENDITION: planned.name})
        width, height = await _dimensions(planned.path, settings.ffprobe_timeout_s)
        renditions.append(
            Rendition(
                name=planned.name,
                width=width,
                height=height,
                path=paths.relative(planned.path),
                size_bytes=size,
            )
        )
    log.info(
        "renditions ready",
        renditions=[r.name for r in renditions],
        bytes=sum(r.size_bytes for r in renditions),
    )
    await ctx.broker.publish(
        JobTranscoded(
            job_id=event.job_id,
            renditions=tuple(renditions),
            audio_path=paths.relative(audio_out) if audio_out else None,
            duration_seconds=info.duration_seconds,
            webhook_url=event.webhook_url,
        )
    )


async def _dimensions(path: Path, timeout_s: float) -> tuple[int, int]:
    info = await probe(path, timeout_s)
    return info.width, info.height
