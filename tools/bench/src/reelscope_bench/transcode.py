"""Transcode speed: what the stage costs over plain ffmpeg, and what one decode for the whole ladder saves.

On one generated clip (1080p "talking head" with speech, 12 s by default, the default ladder, no HLS),
measured in the same run and reported as medians over `repeats`:

- the transcode stage called directly (sniff, ffprobe, planning, the ffmpeg run, output checks, publishing to
  real filesystem storage; no broker) against the same single-pass ffmpeg command written by hand with the
  same encoder settings: `stage_overhead_ratio` is what our hardening and bookkeeping cost;
- that single pass against one ffmpeg process per rendition (plus one for the WAV and one for the poster),
  run one after another (what they cost on a busy machine) and, once, all at once: the speed-ups and the CPU
  ratio show what decoding once saves.

About 6 s to make the clip, then about 40 s per repeat on an idle two-core machine, so three repeats stay
within 3 minutes (`make bench-media`); pass `clip_seconds=30` for a longer, steadier clip.
"""

import asyncio
import resource
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from reelscope_cli.samples import make_talking_head_clip
from reelscope_contracts import JobKeys, JobSubmitted
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import capture_telemetry
from reelscope_transcode.config import Rung, TranscodeSettings
from reelscope_transcode.ladder import PlannedRendition, plan_ladder
from reelscope_transcode.probe import ffprobe
from reelscope_transcode.stage import TranscodeStage

CLIP_SECONDS = 12.0
CLIP_SIZE = "1920x1080"
FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y"]


class _NoProgress:
    def update(self, fraction: float) -> None:
        pass


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _encoder_args(rung: Rung, settings: TranscodeSettings) -> list[str]:
    """The stage's x264/AAC settings for `rung`, written out."""
    gop = str(round(25 * settings.hls_segment_s))
    args = ["-c:v", "libx264", "-preset", settings.x264_preset, "-profile:v", rung.profile]
    args += ["-level:v", rung.level] if rung.level else []
    args += ["-crf", str(rung.crf)] if rung.crf is not None else ["-b:v", f"{rung.video_bitrate_kbps}k"]
    if rung.maxrate_kbps and rung.bufsize_kbps:
        args += ["-maxrate", f"{rung.maxrate_kbps}k", "-bufsize", f"{rung.bufsize_kbps}k"]
    args += ["-g", gop, "-keyint_min", gop, "-sc_threshold", "0"]
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{settings.hls_segment_s:g})"]
    # The clip's speech is 16 kHz mono: the stage keeps mono and resamples to 48 kHz for AAC.
    args += ["-c:a", "aac", "-b:a", f"{rung.audio_bitrate_kbps}k", "-ac", "1", "-ar", "48000"]
    return [*args, "-movflags", "+faststart"]


def single_pass_command(
    clip: Path, ladder: list[PlannedRendition], settings: TranscodeSettings, out: Path, seconds: float
) -> list[str]:
    """The ladder, a poster and the 16 kHz WAV from one decode: the command a person would write."""
    split = "".join(f"[s{i}]" for i in range(len(ladder)))
    graph = f"[0:v]format=yuv420p,split={len(ladder) + 1}{split}[sp];"
    graph += "".join(f"[s{i}]scale={r.width}:{r.height},setsar=1[v{i}];" for i, r in enumerate(ladder))
    poster_at = seconds * settings.poster_position
    graph += f"[sp]select='gte(t,{poster_at})*isnan(prev_selected_t)',scale={ladder[-1].width}:{ladder[-1].height}[p]"
    command = [*FFMPEG, "-i", str(clip), "-filter_complex", graph]
    for i, rendition in enumerate(ladder):
        command += ["-map", f"[v{i}]", "-map", "0:a", *_encoder_args(rendition.rung, settings)]
        command.append(str(out / f"{rendition.name}.mp4"))
    command += ["-map", "[p]", "-frames:v", "1", "-update", "1", str(out / "poster.jpg")]
    return [*command, "-map", "0:a", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(out / "speech.wav")]


def per_output_commands(
    clip: Path, ladder: list[PlannedRendition], settings: TranscodeSettings, out: Path, seconds: float
) -> list[list[str]]:
    """One process per rendition (each decoding the whole input), plus one for the WAV and one for the poster."""
    commands = []
    for r in ladder:
        scale = f"format=yuv420p,scale={r.width}:{r.height},setsar=1"
        commands.append(
            [*FFMPEG, "-i", str(clip), "-vf", scale, *_encoder_args(r.rung, settings), str(out / f"{r.name}.mp4")]
        )
    poster_at = seconds * settings.poster_position
    commands.append([*FFMPEG, "-ss", str(poster_at), "-i", str(clip), "-frames:v", "1", str(out / "poster.jpg")])
    commands.append([*FFMPEG, "-i", str(clip), "-vn", "-ac", "1", "-ar", "16000", str(out / "speech.wav")])
    return commands


def _timed(run: Any) -> tuple[float, float]:
    """(wall seconds, children's CPU seconds) of `run()`."""
    cpu, started = _children_cpu(), time.perf_counter()
    run()
    return time.perf_counter() - started, _children_cpu() - cpu


def _sequential(commands: list[list[str]]) -> None:
    for command in commands:
        subprocess.run(command, check=True)


def _parallel(commands: list[list[str]]) -> None:
    processes = [subprocess.Popen(command) for command in commands]
    if any(process.wait() != 0 for process in processes):
        raise RuntimeError("an ffmpeg process failed")


def _stage_run(stage: TranscodeStage, storage: FilesystemStorage, clip: Path, job_id: str) -> None:
    async def go() -> None:
        key = JobKeys(job_id).input(clip.suffix)
        await storage.put_file(key, clip)
        job = JobSubmitted(
            job_id=job_id, input_key=key, original_filename=clip.name, input_size_bytes=clip.stat().st_size, hls=False
        )
        await stage.run(job, _NoProgress())

    asyncio.run(go())


def run(workdir: Path, repeats: int, *, clip_seconds: float = CLIP_SECONDS) -> dict[str, Any]:
    """Measure everything `repeats` times on one generated clip; medians, in seconds, and their ratios."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = TranscodeSettings(storage_dir=workdir / "storage", hls_default=False)
    storage = FilesystemStorage(settings.storage_dir)
    clip = make_talking_head_clip(workdir / "talking-head.mp4", duration_s=clip_seconds, size=CLIP_SIZE)
    info = asyncio.run(ffprobe(clip, timeout_s=30, grace_s=1))
    ladder = list(plan_ladder(info.video, settings.ladder).renditions)
    out = workdir / "by-hand"
    out.mkdir(exist_ok=True)
    samples: dict[str, list[tuple[float, float]]] = {"stage": [], "single": [], "sequential": [], "parallel": []}
    with capture_telemetry("reelscope-bench") as captured:
        stage = TranscodeStage(settings, storage, captured.telemetry)
        for i in range(max(1, repeats)):
            job_id = f"bench-{i}"
            samples["stage"].append(_timed(lambda job=job_id: _stage_run(stage, storage, clip, job)))
            asyncio.run(storage.delete_prefix(JobKeys(job_id).prefix))
            samples["single"].append(
                _timed(
                    lambda: subprocess.run(single_pass_command(clip, ladder, settings, out, clip_seconds), check=True)
                )
            )
            samples["sequential"].append(
                _timed(lambda: _sequential(per_output_commands(clip, ladder, settings, out, clip_seconds)))
            )
            if i == 0:  # context, not a target: once is enough (it keeps the benchmark within ~3 minutes)
                samples["parallel"].append(
                    _timed(lambda: _parallel(per_output_commands(clip, ladder, settings, out, clip_seconds)))
                )
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in samples.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in samples.items()}
    return {
        "clip": f"{CLIP_SIZE}, {clip_seconds:g} s, 25 fps, speech; preset {settings.x264_preset}",
        "renditions": [r.name for r in ladder],
        "repeats": max(1, repeats),
        "note": "medians of the repeats; per_rendition_parallel is measured once",
        "seconds": {
            "stage": round(wall["stage"], 3),
            "single_pass_by_hand": round(wall["single"], 3),
            "per_rendition_sequential": round(wall["sequential"], 3),
            "per_rendition_parallel": round(wall["parallel"], 3),
        },
        "cpu_seconds": {name: round(value, 3) for name, value in cpu.items()},
        "stage_overhead_ratio": round(wall["stage"] / wall["single"], 3),
        "stage_realtime_ratio": round(wall["stage"] / clip_seconds, 3),
        "single_pass_speedup_vs_sequential": round(wall["sequential"] / wall["single"], 3),
        "single_pass_speedup_vs_parallel": round(wall["parallel"] / wall["single"], 3),
        "per_rendition_cpu_ratio": round(cpu["sequential"] / cpu["single"], 3),
    }


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        json.dump(run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 1), sys.stdout, indent=2)
        print()
