"""The HLS master playlist, written after the encode from what was actually produced: each variant's
BANDWIDTH is its peak segment bitrate and AVERAGE-BANDWIDTH its mean (both measured from the segment
files), CODECS comes from the H.264 decoder configuration (`avcC`) of the same encoded stream."""

import math
import re
from dataclasses import dataclass
from pathlib import Path

AAC_LC = "mp4a.40.2"
HEADER_SCAN_BYTES = 1024 * 1024
_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)")


@dataclass(frozen=True)
class Variant:
    """One rendition as the master playlist lists it."""

    playlist: str
    """Path of the variant playlist relative to the master."""
    width: int
    height: int
    frame_rate: float
    codecs: str
    peak_bps: int
    average_bps: int


def avc_codec(mp4: Path, fallback: str) -> str:
    """`avc1.PPCCLL` from the `avcC` box of a faststart MP4 (profile, constraint flags, level as encoded)."""
    with mp4.open("rb") as handle:
        head = handle.read(HEADER_SCAN_BYTES)
    at = head.find(b"avcC")
    if at < 0 or len(head) < at + 8:
        return fallback
    profile, constraints, level = head[at + 5], head[at + 6], head[at + 7]
    return f"avc1.{profile:02x}{constraints:02x}{level:02x}"


def fallback_codec(profile: str, level: str | None) -> str:
    """The codec string implied by the configured profile and level, when the MP4 cannot be read."""
    profile_idc, constraints = {"baseline": (66, 0xC0), "main": (77, 0x40), "high": (100, 0x00)}[profile]
    level_idc = 11 if level == "1b" else round(float(level or "4.0") * 10)
    return f"avc1.{profile_idc:02x}{constraints:02x}{level_idc:02x}"


def segment_bitrates(playlist: Path) -> tuple[int, int]:
    """(peak, average) bits per second over the segments a variant playlist lists."""
    peak = 0.0
    total_bits = 0
    total_s = 0.0
    duration: float | None = None
    for line in playlist.read_text().splitlines():
        match = _EXTINF.match(line)
        if match:
            duration = float(match.group(1))
        elif line and not line.startswith("#") and duration:
            bits = (playlist.parent / line).stat().st_size * 8
            peak = max(peak, bits / duration)
            total_bits += bits
            total_s += duration
            duration = None
    average = total_bits / total_s if total_s else 0.0
    return math.ceil(peak), math.ceil(average)


def master_playlist(variants: list[Variant], with_audio: bool) -> str:
    """An HLS master playlist listing `variants` from the smallest bandwidth up."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in sorted(variants, key=lambda v: v.peak_bps):
        codecs = f"{variant.codecs},{AAC_LC}" if with_audio else variant.codecs
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={variant.peak_bps},AVERAGE-BANDWIDTH={variant.average_bps},"
            f'RESOLUTION={variant.width}x{variant.height},FRAME-RATE={variant.frame_rate:.3f},CODECS="{codecs}"'
        )
        lines.append(variant.playlist)
    return "\n".join(lines) + "\n"
