"""Look at an upload's bytes before any media tool does.

Empty files, text (a README, a playlist that points at other files), still images and MP4s cut short by
an interrupted upload are recognised here from their first bytes and their box structure: cheaply, without
running a demuxer on them, and with a reason a person can act on. Anything else goes on to ffprobe.
"""

import struct
from pathlib import Path

from reelscope_contracts import FailureCategory
from reelscope_messaging import StageFailed

SNIFF_BYTES = 4096
MAX_BOXES = 100_000

_IMAGES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (8, b"WEBP", "webp"),
    (0, b"qoif", "qoi"),
)
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
# ISO BMFF brands of still images (HEIF/HEIC photos from phones, AVIF).
_IMAGE_BRANDS = {b"heic": "heic", b"heix": "heic", b"heim": "heic", b"heis": "heic", b"mif1": "heif", b"avif": "avif"}
# Boxes that may start an ISO BMFF (MP4, MOV, 3GP) file.
_BMFF_FIRST = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"uuid"}


def sniff(path: Path) -> None:
    """Raise `StageFailed` with a precise reason when `path` is plainly not processable media."""
    size = path.stat().st_size
    if size == 0:
        raise StageFailed("input file is empty (0 bytes)", FailureCategory.INVALID_INPUT)
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    image = _image_kind(head)
    if image is not None:
        raise StageFailed(
            f"input is a still image ({image}), not a video or audio file", FailureCategory.UNSUPPORTED_MEDIA
        )
    if _looks_like_text(head):
        _refuse_text(head)
    if head[4:8] in _BMFF_FIRST:
        problem = bmff_problem(path, size)
        if problem is not None:
            raise StageFailed(f"input container is truncated or corrupt: {problem}", FailureCategory.INVALID_INPUT)


def _image_kind(head: bytes) -> str | None:
    for offset, magic, kind in _IMAGES:
        if head[offset : offset + len(magic)] == magic and (kind != "webp" or head[:4] == b"RIFF"):
            return kind
    if head[4:8] == b"ftyp":
        return _IMAGE_BRANDS.get(head[8:12])
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack("<I", head[14:18])[0] in _BMP_HEADER_SIZES:
        return "bmp"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", errors="ignore")
    if len(text) < len(head) * 0.9:  # much that is not UTF-8: binary
        return False
    printable = sum(1 for char in text if char.isprintable() or char in "\t\r\n\f")
    return printable >= 0.97 * len(text)


def _refuse_text(head: bytes) -> None:
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("#EXTM3U") or text.startswith("#EXTINF"):
        raise StageFailed(
            "input is an M3U/HLS playlist, not a media file: playlists point at other files and are not accepted",
            FailureCategory.UNSUPPORTED_MEDIA,
        )
    if text.startswith("ffconcat"):
        raise StageFailed(
            "input is an ffconcat list, not a media file: lists of other files are not accepted",
            FailureCategory.UNSUPPORTED_MEDIA,
        )
    if "<MPD" in text[:1024]:
        raise StageFailed(
            "input is a DASH manifest, not a media file: manifests point at other files and are not accepted",
            FailureCategory.UNSUPPORTED_MEDIA,
        )
    raise StageFailed("not a media file: the input is plain text, not audio or video", FailureCategory.INVALID_INPUT)


def bmff_problem(path: Path, size: int) -> str | None:
    """Walk the top-level boxes of an MP4/MOV file; describe the first structural problem, if any."""
    offset = 0
    seen: set[bytes] = set()
    with path.open("rb") as handle:
        for _ in range(MAX_BOXES):
            if offset >= size:
                break
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                return f"the file ends inside a box header at byte {offset:,}"
            box_size, kind = struct.unpack(">I4s", header[:8])
            if not all(32 <= byte < 127 for byte in kind):
                return f"unreadable box type at byte {offset:,}"
            name = kind.decode("ascii")
            if box_size == 1:
                if len(header) < 16:
                    return f"the file ends inside the '{name}' box header at byte {offset:,}"
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # extends to the end of the file
                box_size = size - offset
            if box_size < 8:
                return f"the '{name}' box at byte {offset:,} declares an impossible size ({box_size})"
            if offset + box_size > size:
                return (
                    f"the '{name}' box at byte {offset:,} declares {box_size:,} bytes but the file ends "
                    f"{size - offset:,} bytes into it (was the upload interrupted?)"
                )
            seen.add(kind)
            offset += box_size
    if b"moov" not in seen:
        return "it has no 'moov' box (the index that says where the audio and video are)"
    return None
