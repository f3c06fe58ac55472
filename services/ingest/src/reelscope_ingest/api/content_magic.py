"""What an upload's first bytes say it is: one of the media containers we know, or something a person can be
told about ("a PNG image", "plain text").

A table of our own rather than a sniffing library: each allowed signature maps to exactly one ffprobe demuxer
name (the names transcode allowlists), and some need structure a flat signature cannot express (MPEG-TS sync
bytes every 188 bytes, MP3 and ADTS frame headers, the brand of an ISO BMFF `ftyp` that marks a HEIC photo).
"""

import struct
from dataclasses import dataclass
from typing import BinaryIO

HEAD_BYTES = 4096
TS_PACKETS = 3

CONTAINER_NAMES: dict[str, str] = {
    "mov": "an MP4/MOV file",
    "matroska": "a Matroska/WebM file",
    "avi": "an AVI file",
    "mpegts": "an MPEG transport stream",
    "mpeg": "an MPEG program stream",
    "flv": "an FLV file",
    "asf": "an ASF (WMV/WMA) file",
    "ogg": "an Ogg file",
    "wav": "a WAV file",
    "w64": "a Wave64 file",
    "aiff": "an AIFF file",
    "mp3": "an MP3 file",
    "aac": "an AAC (ADTS) file",
    "flac": "a FLAC file",
}
"""Each known demuxer, as a person would name the file."""

_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_W64_RIFF = bytes.fromhex("726966662e91cf11a5d628db04c10000")
# Boxes that may open an ISO BMFF file (MP4, MOV, 3GP): `ftyp`, or the old QuickTime layouts without one.
_BMFF_FIRST = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}

# (offset, bytes, what it is): recognised so that the reason can name them.
_OTHER: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (0, b"%PDF-", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x1f\x8b", "a gzip archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"\x7fELF", "a Linux executable"),
    (0, b"MZ", "a Windows executable"),
)


@dataclass(frozen=True)
class Identified:
    """A known container (`container` set), or why not (`code` and `reason`)."""

    container: str | None
    code: str = ""
    reason: str = ""


def identify(handle: BinaryIO) -> Identified:
    """Read the head of an open binary file and say what it is."""
    head = handle.read(HEAD_BYTES)
    if not head:
        return Identified(None, "empty", "the upload is empty (0 bytes)")
    if head.startswith(b"ID3") and len(head) >= 10:
        # An ID3v2 tag (size: four 7-bit bytes) may precede MP3, AAC or FLAC: look at what follows it.
        size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        size += 10 if head[5] & 0x10 else 0  # a footer
        handle.seek(size)
        after = handle.read(16)
        container = _audio_frames(after) or ("flac" if after.startswith(b"fLaC") else None)
        if container is not None:
            return Identified(container)
        return Identified(None, "not_media", "the upload has an ID3 tag but no MP3, AAC or FLAC audio after it")
    container = _container(head)
    if container is not None:
        return Identified(container)
    other = _other(head)
    if other is not None:
        return Identified(None, "not_media", f"the upload is {other}, not a video or audio file")
    if _looks_like_text(head):
        return Identified(None, "not_media", "the upload is plain text, not a video or audio file")
    return Identified(None, "unknown_container", "the upload is not a recognised media container")


def _container(head: bytes) -> str | None:
    """The demuxer whose signature `head` carries (HEIF/AVIF photos excluded), else None."""
    riff = head[8:12] if head[:4] in (b"RIFF", b"RF64") else b""
    checks: tuple[tuple[bool, str], ...] = (
        (head[4:8] in _BMFF_FIRST and not (head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS), "mov"),
        (head.startswith(b"\x1a\x45\xdf\xa3"), "matroska"),
        (riff == b"AVI ", "avi"),
        (riff == b"WAVE", "wav"),
        (head.startswith(_W64_RIFF), "w64"),
        (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"), "aiff"),
        (_transport_stream(head), "mpegts"),
        (head.startswith(b"\x00\x00\x01\xba"), "mpeg"),
        (head.startswith(b"FLV\x01"), "flv"),
        (head.startswith(_ASF), "asf"),
        (head.startswith(b"OggS"), "ogg"),
        (head.startswith(b"fLaC"), "flac"),
    )
    return next((name for matched, name in checks if matched), None) or _audio_frames(head)


def _transport_stream(head: bytes) -> bool:
    """0x47 sync bytes every 188 bytes (TS) or every 192 after a 4-byte timecode (M2TS), for a few packets."""
    return any(
        len(head) >= start + stride * TS_PACKETS and all(head[start + stride * i] == 0x47 for i in range(TS_PACKETS))
        for start, stride in ((0, 188), (4, 192))
    )


def _audio_frames(head: bytes) -> str | None:
    """`aac` for an ADTS frame header, `mp3` for an MPEG audio frame header, else None."""
    if len(head) < 4 or head[0] != 0xFF:
        return None
    second, third = head[1], head[2]
    if second & 0xF6 == 0xF0 and (third >> 2) & 0x0F < 13:  # ADTS: 12 sync bits, layer 0, a real sample rate
        return "aac"
    version, layer = (second >> 3) & 0x03, (second >> 1) & 0x03
    bitrate, rate = third >> 4, (third >> 2) & 0x03
    if second & 0xE0 == 0xE0 and version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3:
        return "mp3"
    return None


def _other(head: bytes) -> str | None:
    """What a non-media head is, when it is something common."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return "an AVIF image" if head[8:11] == b"avi" else "a HEIF/HEIC image"
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in {12, 40, 52, 56, 64, 108, 124}:
        return "a BMP image"
    return next((kind for offset, magic, kind in _OTHER if head[offset : offset + len(magic)] == magic), None)


def _looks_like_text(head: bytes) -> bool:
    """Mostly printable UTF-8 and no NUL bytes."""
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", errors="ignore")
    if len(text) < len(head) * 0.9:
        return False
    return sum(1 for char in text if char.isprintable() or char in "\t\r\n\f") >= 0.97 * len(text)
