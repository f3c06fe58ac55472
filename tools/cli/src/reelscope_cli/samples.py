"""Sample media for the demo, the tests and the benchmarks: one generator per input shape the pipeline
must handle, each built from ffmpeg's lavfi sources (and flite speech), deterministic, small and fast."""

import subprocess
from pathlib import Path

DEMO_SENTENCE = "the quick brown fox jumps over the lazy dog near the river bank"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def _speech(target: Path, sentence: str) -> Path:
    speech = target.with_suffix(".speech.wav")
    subprocess.run(["flite", "-voice", "awb", "-t", sentence, "-o", str(speech)], check=True)
    return speech


_H264 = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")
_AAC = ("-c:a", "aac", "-b:a", "96k")


def make_speech_clip(target: Path, sentence: str = DEMO_SENTENCE, size: str = "1280x720") -> Path:
    """An H.264/AAC MP4: ffmpeg's test pattern with `sentence` spoken by flite's awb voice."""
    target.parent.mkdir(parents=True, exist_ok=True)
    speech = _speech(target, sentence)
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25", "-i", str(speech), "-shortest", *_H264, *_AAC, str(target)
    )
    speech.unlink()
    return target


def make_corrupt_clip(target: Path, source: Path) -> Path:
    """The first third of a real MP4 with its header bytes scrambled: looks like a video, is not one."""
    data = bytearray(source.read_bytes()[: max(source.stat().st_size // 3, 1024)])
    for i in range(0, min(len(data), 4096), 7):
        data[i] ^= 0x5A
    target.write_bytes(bytes(data))
    return target


def make_test_clip(
    target: Path,
    *,
    size: str = "640x360",
    duration_s: float = 2.0,
    rate: float = 25,
    audio: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    """A test-pattern H.264 clip (with a 440 Hz tone unless `audio=False`); the container follows the suffix."""
    target.parent.mkdir(parents=True, exist_ok=True)
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    codecs = [*_H264, *(_AAC if audio else ("-an",))]
    _ffmpeg(*inputs, "-t", f"{duration_s}", *codecs, *extra, str(target))
    return target


def make_silent_clip(target: Path) -> Path:
    """A 640x360 video with no audio track at all (transcription must be skipped, renditions still made)."""
    return make_test_clip(target, audio=False)


def make_audio_only_clip(target: Path, sentence: str = DEMO_SENTENCE) -> Path:
    """An M4A of flite speech with cover art (an attached picture, which is not a video stream)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    speech = _speech(target, sentence)
    cover = make_image(target.with_suffix(".cover.png"))
    _ffmpeg(
        "-i", str(speech), "-i", str(cover), "-map", "0:a", "-map", "1:v", *_AAC,
        "-c:v", "png", "-disposition:v:0", "attached_pic", str(target),
    )  # fmt: skip
    speech.unlink()
    cover.unlink()
    return target


def make_rotated_clip(target: Path) -> Path:
    """A phone-style portrait clip: 640x360 coded pixels with a 90° display matrix, so it displays as 360x640."""
    plain = make_test_clip(target.with_suffix(".plain.mp4"))
    # Encoding drops the `rotate` tag on ffmpeg 5.1; a stream copy turns it into a display matrix.
    _ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(target))
    plain.unlink()
    return target


def make_odd_size_clip(target: Path) -> Path:
    """853x479: odd dimensions (4:2:0 needs even ones), so it is stored in 4:4:4 to keep them odd."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(
        # testsrc2 rounds its size to even numbers: scale to the odd size afterwards.
        "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25,scale=853:479,setsar=1",
        "-f", "lavfi", "-i", "sine=frequency=330",
        "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv444p", *_AAC, str(target),
    )  # fmt: skip
    return target


def make_anamorphic_clip(target: Path) -> Path:
    """Non-square pixels: 480x360 stored with a 4:3 sample aspect ratio, displayed as 640x360 (16:9)."""
    return make_test_clip(target, size="480x360", extra=("-vf", "setsar=4/3"))


def make_vfr_clip(target: Path) -> Path:
    """Variable frame rate: 30 fps for half of every second, 10 fps for the other half (timestamps kept)."""
    select = "select='lt(mod(n\\,30)\\,15)+not(mod(n\\,3))'"
    return make_test_clip(target, size="320x240", duration_s=3, rate=30, extra=("-vf", select, "-fps_mode", "vfr"))


def make_hevc_10bit_clip(target: Path) -> Path:
    """10-bit HEVC (Main 10, yuv420p10le) in MP4, as recent phones record: must come out as 8-bit H.264."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=550",
        "-t", "1", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
        "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", *_AAC, str(target),
    )  # fmt: skip
    return target


def make_short_clip(target: Path) -> Path:
    """A clip of 0.4 s: shorter than a second, a handful of frames."""
    return make_test_clip(target, size="640x360", duration_s=0.4)


def make_long_clip(target: Path, duration_s: float = 300.0) -> Path:
    """A long clip (default 5 min) kept cheap: 160x90 at 5 fps with a tone, for bounded-memory checks."""
    return make_test_clip(target, size="160x90", duration_s=duration_s, rate=5)


def make_talking_head_clip(target: Path, duration_s: float = 20.0, size: str = "1920x1080") -> Path:
    """A benchmark clip like a talk: a slowly shifting backdrop, one moving detailed block, and speech."""
    target.parent.mkdir(parents=True, exist_ok=True)
    speech = _speech(target, f"{DEMO_SENTENCE}. {DEMO_SENTENCE}. {DEMO_SENTENCE}.")
    width, height = (int(part) for part in size.split("x"))
    block = max(height // 3, 16)
    graph = (
        # A smooth backdrop drawn small and scaled up: cheap to make, like an out-of-focus room.
        f"gradients=size={width // 4}x{height // 4}:rate=25:speed=0.01:seed=7,scale={width}:{height}[bg];"
        f"testsrc2=size={block}x{block}:rate=25[fg];"
        f"[bg][fg]overlay=x='{width // 2 - block // 2}+{block // 6}*sin(t)':y={height // 4}:shortest=1[out0]"
    )
    _ffmpeg(
        "-f", "lavfi", "-i", graph, "-stream_loop", "-1", "-i", str(speech),
        "-t", f"{duration_s}", *_H264, *_AAC, str(target),
    )  # fmt: skip
    speech.unlink()
    return target


def make_truncated_clip(target: Path, source: Path, keep_fraction: float = 0.5) -> Path:
    """The first `keep_fraction` of a real media file, as an interrupted upload leaves it."""
    data = source.read_bytes()
    target.write_bytes(data[: max(int(len(data) * keep_fraction), 1)])
    return target


def make_garbled_clip(target: Path, source: Path) -> Path:
    """A real MP4 whose container is intact but whose media data is overwritten: it probes fine, nothing decodes."""
    data = bytearray(source.read_bytes())
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == b"mdat":
            data[offset + 8 : offset + size] = bytes((0x00, 0x00, 0xFF)) * ((size - 8) // 3) + bytes((size - 8) % 3)
            break
        offset += max(size, 8)
    target.write_bytes(bytes(data))
    return target


def make_unknown_codec_clip(target: Path) -> Path:
    """An AVI whose video is labelled with a codec tag no decoder knows ('ZZZZ')."""
    plain = make_test_clip(target.with_suffix(".plain.avi"), size="320x240", duration_s=1, audio=False,
                           extra=("-c:v", "mpeg4", "-vtag", "XVID"))  # fmt: skip
    target.write_bytes(plain.read_bytes().replace(b"XVID", b"ZZZZ"))
    plain.unlink()
    return target


def make_empty_file(target: Path) -> Path:
    """A zero-byte file with a video name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"")
    return target


def make_text_file(target: Path) -> Path:
    """Plain text with a video name (a README uploaded by mistake)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("# Notes\n\nThis is not a video. It is a text file someone renamed to .mp4.\n" * 20)
    return target


def make_image(target: Path, size: str = "320x240") -> Path:
    """One still frame of the test pattern; PNG or JPEG by the suffix of `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}", "-frames:v", "1", "-update", "1", str(target))
    return target


def make_subtitles_only_file(target: Path) -> Path:
    """A Matroska file whose only stream is a subtitle track: a real container with no video and no audio."""
    target.parent.mkdir(parents=True, exist_ok=True)
    srt = target.with_suffix(".srt")
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nno picture, no sound\n")
    _ffmpeg("-i", str(srt), "-c:s", "srt", str(target))
    srt.unlink()
    return target
