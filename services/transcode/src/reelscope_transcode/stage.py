"""The transcode stage as one call: a submitted job in, the `JobTranscoded` to publish out (or `StageFailed`).

Sniff and probe (span `ffprobe`), plan the ladder, run one ffmpeg for every output inside the storage's
staged output directory (span `ffmpeg.transcode`), check and describe the outputs; they are published when
the block ends normally and discarded on failure, timeout or cancellation. The worker publishes the
result; tests and the benchmark call `TranscodeStage.run` directly.
"""

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from opentelemetry.util.types import AttributeValue
from reelscope_contracts import FailureCategory, JobKeys, JobSubmitted, JobTranscoded, StageName
from reelscope_messaging import RetryLater, StageFailed
from reelscope_storage import InvalidKey, ObjectNotFound, Storage, StorageError
from reelscope_telemetry import Telemetry, attributes, get_logger

from reelscope_transcode.command import EncodeJob, OutputLayout, ffmpeg_command, output_dirs
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.failures import ffmpeg_failure
from reelscope_transcode.ladder import FALLBACK_RATE, LadderPlan, output_frame_rate, plan_ladder
from reelscope_transcode.outputs import Outputs, collect, poster_time
from reelscope_transcode.probe import MediaInfo, ffprobe
from reelscope_transcode.process import ToolTimedOut, children_cpu_s, peak_rss_bytes, run_tool
from reelscope_transcode.progress import ProgressBlock, ProgressParser
from reelscope_transcode.sniff import sniff

log = get_logger(__name__)

STAGE_ATTRIBUTES = {attributes.STAGE: StageName.TRANSCODE.value}
NATIVE = "native"
"""Metric label of a below-ladder rendition made at the source's own size (its name varies with the source)."""
TRUNCATION_RATIO = 0.8


class ProgressSink(Protocol):
    """Where progress goes (`ProgressReporter` in the worker)."""

    def update(self, fraction: float) -> None: ...


def media_attributes(info: MediaInfo) -> dict[str, AttributeValue]:
    """Span attributes describing the input."""
    values: dict[str, AttributeValue] = {
        attributes.MEDIA_FORMAT: info.demuxer,
        attributes.MEDIA_SIZE: info.size_bytes,
        attributes.MEDIA_HAS_VIDEO: info.video is not None,
        attributes.MEDIA_HAS_AUDIO: info.audio is not None,
    }
    if info.duration_s is not None:
        values[attributes.MEDIA_DURATION] = info.duration_s
    if info.video is not None:
        values[attributes.MEDIA_WIDTH] = info.video.display_width
        values[attributes.MEDIA_HEIGHT] = info.video.display_height
        values[attributes.MEDIA_ROTATION] = info.video.rotation
        values[attributes.MEDIA_VIDEO_CODEC] = info.video.codec
        values[attributes.MEDIA_PIXEL_FORMAT] = info.video.pix_fmt
    if info.audio is not None:
        values[attributes.MEDIA_AUDIO_CODEC] = info.audio.codec
    return values


@dataclass(frozen=True)
class TranscodeStage:
    """The stage with its collaborators; one instance serves every job of a worker."""

    settings: TranscodeSettings
    storage: Storage
    telemetry: Telemetry

    async def run(self, job: JobSubmitted, progress: ProgressSink) -> JobTranscoded:
        """Transcode `job`; raise `StageFailed` (with a category) when it cannot be done."""
        started = time.perf_counter()
        cpu_before = children_cpu_s()
        cpu_s = 0.0
        try:
            info, plan, outputs, duration_s = await self._transcode(job, progress)
        except InvalidKey as exc:
            raise StageFailed(f"input key refused: {exc}", FailureCategory.MALFORMED_MESSAGE) from exc
        except ObjectNotFound as exc:
            raise StageFailed(f"input file is missing from storage: {exc}", FailureCategory.STORAGE_ERROR) from exc
        except StorageError as exc:
            raise RetryLater(f"storage failed: {exc}", FailureCategory.STORAGE_ERROR) from exc
        finally:
            cpu_s = max(0.0, children_cpu_s() - cpu_before)
            self.telemetry.instruments.stage_cpu_time.add(cpu_s, STAGE_ATTRIBUTES)
        elapsed = time.perf_counter() - started
        if duration_s > 0:
            self.telemetry.instruments.realtime_ratio.record(elapsed / duration_s, STAGE_ATTRIBUTES)
        log.info(
            "transcode finished",
            renditions=[r.name for r in outputs.renditions],
            bytes=sum(r.size_bytes for r in outputs.renditions),
            elapsed_s=round(elapsed, 3),
            cpu_s=round(cpu_s, 3),
            has_audio=info.audio is not None,
        )
        return JobTranscoded(
            job_id=job.job_id,
            renditions=outputs.renditions,
            skipped_renditions=plan.skipped,
            hls_master_key=outputs.hls_master_key,
            poster_key=outputs.poster_key,
            audio_key=outputs.audio_key,
            duration_seconds=duration_s,
            cpu_seconds=round(cpu_s, 3),
            webhook_url=job.webhook_url,
            owner=job.owner,
        )

    async def _transcode(
        self, job: JobSubmitted, progress: ProgressSink
    ) -> tuple[MediaInfo, LadderPlan, Outputs, float]:
        keys = JobKeys(job.job_id)
        layout = OutputLayout(keys)
        async with self.storage.local_file(job.input_key) as source:
            info = await self._probe(source)
            plan = plan_ladder(info.video, self.settings.ladder)
            encode = self._encode_job(job, source, info, plan)
            async with self.storage.output_dir(keys.media_prefix) as out:
                for directory in output_dirs(encode, layout):
                    (out / directory).mkdir(parents=True, exist_ok=True)
                duration_s, encode_s = await self._encode(encode, layout, out, plan, progress)
                outputs = await asyncio.to_thread(collect, encode, layout, out, duration_s)
                self._record_renditions(encode, outputs, encode_s, job.input_size_bytes or info.size_bytes)
        return info, plan, outputs, duration_s

    async def _probe(self, source: Path) -> MediaInfo:
        with self.telemetry.tracer.start_as_current_span("ffprobe") as span:
            await asyncio.to_thread(sniff, source)
            try:
                info = await ffprobe(
                    source, timeout_s=self.settings.ffprobe_timeout_s, grace_s=self.settings.kill_grace_s
                )
            except ToolTimedOut as exc:
                raise StageFailed(f"probing the input: {exc}", FailureCategory.TIMEOUT) from exc
            span.set_attributes(media_attributes(info))
        log.info("input probed", **{key.rsplit(".", 1)[-1]: value for key, value in media_attributes(info).items()})
        return info

    def _encode_job(self, job: JobSubmitted, source: Path, info: MediaInfo, plan: LadderPlan) -> EncodeJob:
        hls = self.settings.hls_default if job.hls is None else job.hls
        video = info.video
        return EncodeJob(
            source=source,
            info=info,
            renditions=plan.renditions,
            frame_rate=output_frame_rate(video, self.settings.max_frame_rate) if video else FALLBACK_RATE,
            hls=hls and bool(plan.renditions),
            poster_at_s=poster_time(info.duration_s, self.settings.poster_position) if plan.renditions else None,
            speech_wav=info.audio is not None,
            preset=self.settings.x264_preset,
            segment_s=self.settings.hls_segment_s,
        )

    async def _encode(
        self, encode: EncodeJob, layout: OutputLayout, out: Path, plan: LadderPlan, progress: ProgressSink
    ) -> tuple[float, float]:
        """Run ffmpeg; return the media duration (probed, else as decoded) and ffmpeg's wall time."""
        duration = encode.info.duration_s
        limit_s = self.settings.ffmpeg_timeout_s(duration)
        pid: list[int] = []
        peak: list[int] = [0]

        def on_block(block: ProgressBlock) -> None:
            rss = peak_rss_bytes(pid[0]) if pid else None
            peak[0] = max(peak[0], rss or 0)
            fraction = block.fraction(duration)
            if fraction is not None:
                progress.update(fraction)

        parser = ProgressParser(on_block)
        instruments = self.telemetry.instruments
        with self.telemetry.tracer.start_as_current_span("ffmpeg.transcode") as span:
            span.set_attributes(
                {
                    attributes.RENDITIONS: [r.name for r in plan.renditions],
                    attributes.RENDITIONS_SKIPPED: [s.name for s in plan.skipped],
                    attributes.HLS: encode.hls,
                    attributes.TOOL_TIMEOUT: limit_s,
                    "process.executable.name": "ffmpeg",
                }
            )
            instruments.ffmpeg_processes.add(1, STAGE_ATTRIBUTES)
            started = time.perf_counter()
            try:
                finished = await run_tool(
                    ffmpeg_command(encode, layout),
                    timeout_s=limit_s,
                    grace_s=self.settings.kill_grace_s,
                    cwd=out,
                    on_line=parser.feed,
                    on_start=pid.append,
                )
            except ToolTimedOut as exc:
                settings = self.settings
                raise StageFailed(
                    f"transcoding took longer than its {limit_s:.0f} s limit and was stopped (the limit is "
                    f"{settings.ffmpeg_timeout_factor:g}x the media duration, within "
                    f"{settings.ffmpeg_timeout_floor_s:.0f}-{settings.ffmpeg_timeout_ceiling_s:.0f} s)",
                    FailureCategory.TIMEOUT,
                ) from exc
            except asyncio.CancelledError:
                # Not an error (OTel leaves BaseExceptions unrecorded): say where the encode stopped.
                span.add_event(
                    "reelscope.job.cancelled",
                    {"reelscope.media.decoded_s": parser.last.out_time_s if parser.last else 0.0},
                )
                raise
            finally:
                instruments.ffmpeg_processes.add(-1, STAGE_ATTRIBUTES)
            encode_s = time.perf_counter() - started
            span.set_attribute("process.exit.code", finished.returncode)
            if peak[0]:
                span.set_attribute(attributes.TOOL_PEAK_RSS, peak[0])
            if finished.returncode != 0:
                raise ffmpeg_failure(finished, encode.source)
        decoded = parser.last.out_time_s if parser.last else None
        if duration and decoded is not None and decoded < TRUNCATION_RATIO * duration and duration - decoded > 1:
            raise StageFailed(
                f"input is truncated or corrupt: only {decoded:.1f} s of its declared {duration:.1f} s "
                "could be decoded",
                FailureCategory.INVALID_INPUT,
            )
        progress.update(1.0)
        return duration or decoded or 0.0, encode_s

    def _record_renditions(self, encode: EncodeJob, outputs: Outputs, encode_s: float, input_size: int) -> None:
        """Per-rendition metrics, labelled by rung name only (a below-ladder rendition is `native`)."""
        instruments = self.telemetry.instruments
        rung_names = {rung.name for rung in self.settings.ladder}
        for rendition in outputs.renditions:
            label = {attributes.RENDITION: rendition.name if rendition.name in rung_names else NATIVE}
            instruments.transcode_duration.record(encode_s, label)
            instruments.rendition_size.record(rendition.size_bytes, label)
            instruments.compression_ratio.record(input_size / rendition.size_bytes, label)
