"""The ffmpeg command: hardened input, one decode split into one encode per rendition, HLS through `tee` from
the same encode, the poster from the same decode, the speech WAV as one more output."""

from fractions import Fraction
from pathlib import Path

import pytest
from reelscope_contracts import JobKeys
from reelscope_transcode.command import EncodeJob, OutputLayout, ffmpeg_command, filter_graph
from reelscope_transcode.config import DEFAULT_LADDER
from reelscope_transcode.ladder import plan_ladder
from reelscope_transcode.probe import AudioStream, MediaInfo, VideoStream

pytestmark = pytest.mark.unit

VIDEO = VideoStream(
    index=0,
    codec="hevc",
    pix_fmt="yuv420p10le",
    coded_width=1280,
    coded_height=720,
    rotation=0,
    display_width=1280,
    display_height=720,
    frame_rate=Fraction(25),
)
AUDIO = AudioStream(index=1, codec="aac", channels=6, sample_rate=32000)


def job(*, hls: bool, audio: AudioStream | None = AUDIO, video: VideoStream | None = VIDEO) -> EncodeJob:
    info = MediaInfo(demuxer="matroska", duration_s=10.0, size_bytes=1000, video=video, audio=audio)
    return EncodeJob(
        source=Path("/data/in put:x.mkv"),
        info=info,
        renditions=plan_ladder(video, DEFAULT_LADDER).renditions,
        frame_rate=Fraction(25),
        hls=hls,
        poster_at_s=1.0 if video else None,
        speech_wav=audio is not None,
        preset="veryfast",
        segment_s=6,
    )


LAYOUT = OutputLayout(JobKeys("j1"))


def value_after(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, part in enumerate(command) if part == flag]


def test_input_is_hardened() -> None:
    """-nostdin, file-only protocols, the probed demuxer forced and allowlisted, the input as a `file:` URL."""
    command = ffmpeg_command(job(hls=False), LAYOUT)
    before_input = command[: command.index("-i")]
    assert "-nostdin" in before_input
    assert value_after(before_input, "-protocol_whitelist") == ["file"]
    assert "hls" not in value_after(before_input, "-format_whitelist")[0].split(",")
    assert value_after(before_input, "-f") == ["matroska"]
    assert value_after(command, "-i") == ["file:/data/in put:x.mkv"]
    assert value_after(command, "-progress") == ["pipe:1"]


def test_one_decode_one_encode_per_rendition() -> None:
    """One input, one filter graph splitting the picture, exactly one libx264 encoder per rendition, 8-bit 4:2:0."""
    encode = job(hls=False)
    command = ffmpeg_command(encode, LAYOUT)
    assert command.count("-i") == 1
    assert value_after(command, "-c:v").count("libx264") == len(encode.renditions) == 2
    graph = filter_graph(encode)
    assert "format=yuv420p,split=3[s0][s1][sp]" in graph
    assert "[s0]scale=640:360,setsar=1[v0]" in graph
    assert "[s1]scale=1280:720,setsar=1[v1]" in graph
    assert value_after(command, "-movflags") == ["+faststart", "+faststart"]
    assert value_after(command, "-ac")[:2] == ["2", "2"]  # 5.1 downmixed to stereo AAC
    assert value_after(command, "-ar")[:2] == ["48000", "48000"]  # an unusual 32 kHz becomes 48 kHz


def test_hls_is_a_tee_of_the_same_encode() -> None:
    """With HLS each rendition's one encode goes through `tee` to its MP4 and its HLS variant; no extra encoder."""
    encode = job(hls=True)
    command = ffmpeg_command(encode, LAYOUT)
    assert value_after(command, "-c:v").count("libx264") == 2
    tees = [command[i + 1] for i, part in enumerate(command) if part == "-f" and command[i + 1] == "tee"]
    assert len(tees) == 2
    first_tee = command[command.index("tee") + 1]
    assert first_tee.startswith("[f=mp4:movflags=+faststart]renditions/360p.mp4|[f=hls:hls_time=6")
    assert first_tee.endswith("hls_segment_filename=hls/360p/seg_%05d.ts]hls/360p/index.m3u8")


def test_poster_is_one_frame_of_the_same_decode_and_wav_is_mono_16k() -> None:
    """The poster branch selects exactly one frame at the poster time; the WAV is 16 kHz mono PCM."""
    command = ffmpeg_command(job(hls=False), LAYOUT)
    assert "[sp]select='gte(t,1.000)*isnan(prev_selected_t)',scale=1280:720" in filter_graph(job(hls=False))
    poster = command[command.index("[poster]") - 1 : command.index("poster.jpg") + 1]
    assert poster[:4] == ["-map", "[poster]", "-frames:v", "1"]
    assert value_after(poster, "-c:v") == ["mjpeg"]
    assert value_after(poster, "-f") == ["image2"]
    wav = command[command.index("poster.jpg") + 1 :]
    assert wav[:2] == ["-map", "0:1"]
    assert value_after(wav, "-ar") == ["16000"]
    assert value_after(wav, "-ac") == ["1"]
    assert value_after(wav, "-c:a") == ["pcm_s16le"]


def test_audio_only_and_silent_inputs() -> None:
    """Audio only: no filter graph, no video encoder, only the WAV. No audio: no AAC and no WAV."""
    audio_only = ffmpeg_command(job(hls=True, video=None), LAYOUT)
    assert "-filter_complex" not in audio_only
    assert "libx264" not in audio_only
    assert audio_only[-1] == "audio/speech-16k.wav"
    silent = ffmpeg_command(job(hls=False, audio=None), LAYOUT)
    assert "aac" not in silent
    assert "audio/speech-16k.wav" not in silent
    assert all(part != "0:1" for part in silent)
