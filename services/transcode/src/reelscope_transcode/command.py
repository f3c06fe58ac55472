"""The one ffmpeg command that makes a job's every output: one decode, a `split`, one encode per rendition.

With HLS, each rendition's single encoded stream goes through the `tee` muxer to both an MP4 and an HLS
variant, so HLS costs packaging, never a second encode. The poster is one more branch of the same split:
a `select` that passes exactly one frame (the first at the poster time), so it reuses the decode the
ladder needs anyway instead of starting a second process that would demux and decode again. The 16 kHz
mono WAV for speech recognition is one more output of the same run.

Hardening: `-nostdin`, `-protocol_whitelist file` on the input and the outputs, the demuxer ffprobe
found forced with `-f` (and allowlisted again with `-format_whitelist`), the input given as a `file:`
URL, and outputs written relative to the working directory (the staging directory) under names we make.
"""

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from reelscope_contracts import JobKeys

from reelscope_transcode.ladder import PlannedRendition
from reelscope_transcode.probe import ALLOWED_DEMUXERS, MediaInfo

SEGMENT_PATTERN = "seg_%05d.ts"


@dataclass(frozen=True)
class OutputLayout:
    """Where each output goes, relative to the staged output directory of `JobKeys.media_prefix`."""

    keys: JobKeys

    def relative(self, key: str) -> str:
        return JobKeys.within(self.keys.media_prefix, key)

    def rendition(self, name: str) -> str:
        return self.relative(self.keys.rendition(name))

    def hls_playlist(self, name: str) -> str:
        return self.relative(self.keys.hls_playlist(name))

    def hls_segments(self, name: str) -> str:
        return str(Path(self.hls_playlist(name)).parent / SEGMENT_PATTERN)

    @property
    def hls_master(self) -> str:
        return self.relative(self.keys.hls_master)

    @property
    def poster(self) -> str:
        return self.relative(self.keys.poster)

    @property
    def audio(self) -> str:
        return self.relative(self.keys.audio)


@dataclass(frozen=True)
class EncodeJob:
    """Everything the command depends on."""

    source: Path
    info: MediaInfo
    renditions: tuple[PlannedRendition, ...]
    frame_rate: Fraction
    hls: bool
    poster_at_s: float | None
    speech_wav: bool
    preset: str
    segment_s: float


def _rate(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def filter_graph(job: EncodeJob) -> str:
    """`[v0]…[vN]` for the renditions and `[poster]`, from one decoded, rate-fixed, 8-bit 4:2:0 picture."""
    video = job.info.video
    assert video is not None
    branches = [f"[s{i}]" for i in range(len(job.renditions))]
    if job.poster_at_s is not None:
        branches.append("[sp]")
    graph = [f"[0:{video.index}]fps={_rate(job.frame_rate)},format=yuv420p,split={len(branches)}{''.join(branches)}"]
    graph += [f"[s{i}]scale={r.width}:{r.height},setsar=1[v{i}]" for i, r in enumerate(job.renditions)]
    if job.poster_at_s is not None:
        largest = job.renditions[-1]
        graph.append(
            f"[sp]select='gte(t,{job.poster_at_s:.3f})*isnan(prev_selected_t)',"
            f"scale={largest.width}:{largest.height}:out_range=full,setsar=1,format=yuvj420p[poster]"
        )
    return ";".join(graph)


def _rendition_args(job: EncodeJob, i: int, rendition: PlannedRendition, layout: OutputLayout) -> list[str]:
    rung = rendition.rung
    audio = job.info.audio
    gop = max(1, round(job.frame_rate * Fraction(job.segment_s)))
    args = ["-map", f"[v{i}]", "-c:v", "libx264", "-preset", job.preset, "-profile:v", rung.profile]
    if rung.level:
        args += ["-level:v", rung.level]
    if rung.crf is not None:
        args += ["-crf", str(rung.crf)]
    else:
        args += ["-b:v", f"{rung.video_bitrate_kbps}k"]
    if rung.maxrate_kbps and rung.bufsize_kbps:
        args += ["-maxrate", f"{rung.maxrate_kbps}k", "-bufsize", f"{rung.bufsize_kbps}k"]
    # Keyframes at the same instants in every rendition: segments line up for adaptive switching.
    args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{job.segment_s:g})"]
    if audio is not None:
        channels = min(audio.channels, 2)
        rate = audio.sample_rate if audio.sample_rate in (44100, 48000) else 48000
        args += ["-map", f"0:{audio.index}", "-c:a", "aac", "-b:a", f"{rung.audio_bitrate_kbps}k"]
        args += ["-ac", str(channels), "-ar", str(rate)]
    args += ["-map_metadata", "-1", "-map_chapters", "-1", "-protocol_whitelist", "file"]
    mp4 = layout.rendition(rendition.name)
    if not job.hls:
        return [*args, "-f", "mp4", "-movflags", "+faststart", mp4]
    hls = (
        f"[f=hls:hls_time={job.segment_s:g}:hls_playlist_type=vod:hls_flags=independent_segments"
        f":hls_segment_filename={layout.hls_segments(rendition.name)}]{layout.hls_playlist(rendition.name)}"
    )
    return [*args, "-flags", "+global_header", "-f", "tee", f"[f=mp4:movflags=+faststart]{mp4}|{hls}"]


def ffmpeg_command(job: EncodeJob, layout: OutputLayout) -> list[str]:
    """The full argv; run it with the staged output directory as working directory."""
    command = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-progress", "pipe:1", "-y"]
    command += ["-protocol_whitelist", "file", "-format_whitelist", ",".join(ALLOWED_DEMUXERS)]
    command += ["-f", job.info.demuxer, "-i", f"file:{job.source.resolve()}"]
    if job.renditions:
        command += ["-filter_complex", filter_graph(job)]
    for i, rendition in enumerate(job.renditions):
        command += _rendition_args(job, i, rendition, layout)
    if job.poster_at_s is not None and job.renditions:
        command += ["-map", "[poster]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3"]
        command += ["-map_metadata", "-1", "-f", "image2", "-update", "1", layout.poster]
    if job.speech_wav and job.info.audio is not None:
        command += ["-map", f"0:{job.info.audio.index}", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"]
        command += ["-map_metadata", "-1", "-f", "wav", layout.audio]
    return command


def output_dirs(job: EncodeJob, layout: OutputLayout) -> list[str]:
    """Directories (relative) ffmpeg's muxers expect to exist."""
    files = [layout.rendition(r.name) for r in job.renditions]
    if job.hls:
        files += [layout.hls_playlist(r.name) for r in job.renditions]
    if job.speech_wav:
        files.append(layout.audio)
    files.append(layout.poster)
    return sorted({str(Path(f).parent) for f in files})
