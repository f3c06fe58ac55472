"""Check what ffmpeg wrote into the staged output directory and describe it: `Rendition`s with sizes and
bitrates, the HLS master playlist (written here, from the measured segments), poster and speech audio."""

from dataclasses import dataclass
from pathlib import Path

from reelscope_contracts import FailureCategory, Rendition
from reelscope_messaging import StageFailed
from reelscope_telemetry import get_logger

from reelscope_transcode.command import EncodeJob, OutputLayout
from reelscope_transcode.hls import Variant, avc_codec, fallback_codec, master_playlist, segment_bitrates

log = get_logger(__name__)

WAV_HEADER_BYTES = 44


@dataclass(frozen=True)
class Outputs:
    """Keys and descriptions of everything the encode produced (not yet published)."""

    renditions: tuple[Rendition, ...]
    hls_master_key: str | None
    poster_key: str | None
    audio_key: str | None


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def collect(job: EncodeJob, layout: OutputLayout, out: Path, duration_s: float) -> Outputs:
    """Verify each expected output exists and is non-empty; write the HLS master; describe it all."""
    keys = layout.keys
    renditions: list[Rendition] = []
    variants: list[Variant] = []
    for planned in job.renditions:
        mp4 = out / layout.rendition(planned.name)
        size = _size(mp4)
        if size == 0:
            raise StageFailed(f"ffmpeg wrote no {planned.name} rendition", FailureCategory.PROCESSING_ERROR)
        playlist_key = None
        if job.hls:
            playlist = out / layout.hls_playlist(planned.name)
            if _size(playlist) == 0:
                raise StageFailed(f"ffmpeg wrote no HLS playlist for {planned.name}", FailureCategory.PROCESSING_ERROR)
            peak, average = segment_bitrates(playlist)
            codec = avc_codec(mp4, fallback_codec(planned.rung.profile, planned.rung.level))
            variants.append(
                Variant(
                    playlist=str(Path(layout.hls_playlist(planned.name)).relative_to(Path(layout.hls_master).parent)),
                    width=planned.width,
                    height=planned.height,
                    frame_rate=float(job.frame_rate),
                    codecs=codec,
                    peak_bps=peak,
                    average_bps=average,
                )
            )
            playlist_key = keys.hls_playlist(planned.name)
        renditions.append(
            Rendition(
                name=planned.name,
                width=planned.width,
                height=planned.height,
                key=keys.rendition(planned.name),
                size_bytes=size,
                bitrate_bps=round(size * 8 / duration_s) if duration_s > 0 else None,
                hls_playlist_key=playlist_key,
            )
        )
    master_key = None
    if variants:
        (out / layout.hls_master).write_text(master_playlist(variants, with_audio=job.info.audio is not None))
        master_key = keys.hls_master
    return Outputs(tuple(renditions), master_key, _poster(job, layout, out), _audio(job, layout, out))


def _poster(job: EncodeJob, layout: OutputLayout, out: Path) -> str | None:
    if job.poster_at_s is None or not job.renditions:
        return None
    if _size(out / layout.poster) == 0:
        # The video ended before the poster time (a container duration longer than its video): no poster,
        # not a failed job.
        log.warning("no poster frame at the poster time", poster_at_s=job.poster_at_s)
        return None
    return layout.keys.poster


def _audio(job: EncodeJob, layout: OutputLayout, out: Path) -> str | None:
    if not job.speech_wav or job.info.audio is None:
        return None
    if _size(out / layout.audio) <= WAV_HEADER_BYTES:
        # An audio track with nothing decodable in it: the video is still good; transcription will skip.
        (out / layout.audio).unlink(missing_ok=True)
        log.warning("audio track yielded no samples; no speech audio")
        return None
    return layout.keys.audio


def poster_time(duration_s: float | None, position: float) -> float:
    """Where the poster frame is taken: `position` of the way in (the start when the duration is unknown)."""
    return (duration_s or 0.0) * position
