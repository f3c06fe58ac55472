"""Sample media for the demo and the tests: a test-pattern video speaking a known sentence (flite)."""

import subprocess
from pathlib import Path

DEMO_SENTENCE = "the quick brown fox jumps over the lazy dog near the river bank"


def make_speech_clip(target: Path, sentence: str = DEMO_SENTENCE, size: str = "1280x720") -> Path:
    """An H.264/AAC MP4: ffmpeg's test pattern with `sentence` spoken by flite's awb voice."""
    target.parent.mkdir(parents=True, exist_ok=True)
    speech = target.with_suffix(".speech.wav")
    subprocess.run(["flite", "-voice", "awb", "-t", sentence, "-o", str(speech)], check=True)
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25",
            "-i",
            str(speech),
            "-shortest",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            str(target),
        ],
        check=True,
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
