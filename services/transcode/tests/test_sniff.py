"""First-bytes checks: empty, text, playlists, still images and MP4 box structure, before any demuxer runs."""

import struct
from pathlib import Path

import pytest
from reelscope_contracts import FailureCategory
from reelscope_messaging import StageFailed
from reelscope_transcode.sniff import bmff_problem, sniff

pytestmark = pytest.mark.unit


def box(kind: bytes, payload: bytes = b"", declared: int | None = None) -> bytes:
    return struct.pack(">I4s", declared if declared is not None else 8 + len(payload), kind) + payload


def refused(tmp_path: Path, data: bytes) -> StageFailed:
    path = tmp_path / "source.mp4"
    path.write_bytes(data)
    with pytest.raises(StageFailed) as failure:
        sniff(path)
    return failure.value


@pytest.mark.parametrize(
    ("data", "reason", "category"),
    [
        (b"", "input file is empty (0 bytes)", FailureCategory.INVALID_INPUT),
        (b"hello\nthis is a readme\n" * 10, "not a media file: the input is plain text", FailureCategory.INVALID_INPUT),
        (
            b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n",
            "input is an M3U/HLS playlist",
            FailureCategory.UNSUPPORTED_MEDIA,
        ),
        (b"ffconcat version 1.0\nfile /etc/passwd\n", "input is an ffconcat list", FailureCategory.UNSUPPORTED_MEDIA),
        (b'<?xml version="1.0"?><MPD></MPD>', "input is a DASH manifest", FailureCategory.UNSUPPORTED_MEDIA),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "input is a still image (png)", FailureCategory.UNSUPPORTED_MEDIA),
        (b"\xff\xd8\xff\xe0" + bytes(64), "input is a still image (jpeg)", FailureCategory.UNSUPPORTED_MEDIA),
        (
            b"RIFF\x00\x01\x00\x00WEBPVP8 " + bytes(64),
            "input is a still image (webp)",
            FailureCategory.UNSUPPORTED_MEDIA,
        ),
        (
            box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic"),
            "input is a still image (heic)",
            FailureCategory.UNSUPPORTED_MEDIA,
        ),
    ],
)
def test_plainly_unusable_inputs_are_refused_by_their_bytes(
    tmp_path: Path, data: bytes, reason: str, category: FailureCategory
) -> None:
    """Empty files, text, playlists and manifests, and still images are refused with their own reason and category."""
    failure = refused(tmp_path, data)
    assert failure.reason.startswith(reason)
    assert failure.category is category


def test_truncated_mp4_names_the_box_and_the_missing_bytes(tmp_path: Path) -> None:
    """An MP4 whose `mdat` declares more bytes than the file holds is refused as truncated, with the numbers."""
    data = box(b"ftyp", b"isom\x00\x00\x02\x00") + box(b"moov", bytes(32)) + box(b"mdat", bytes(100), declared=5000)
    failure = refused(tmp_path, data)
    assert failure.category is FailureCategory.INVALID_INPUT
    assert failure.reason == (
        "input container is truncated or corrupt: the 'mdat' box at byte 56 declares 5,000 bytes but the file "
        "ends 108 bytes into it (was the upload interrupted?)"
    )


def test_box_walk_accepts_whole_files_and_spots_missing_index(tmp_path: Path) -> None:
    """A well-formed ftyp/moov/mdat passes (also with a 64-bit size and a to-the-end box); no moov is a problem."""
    path = tmp_path / "a.mp4"
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 10) + bytes(10)
    path.write_bytes(box(b"ftyp", b"isom") + box(b"moov", bytes(8)) + large + box(b"free", bytes(4), declared=0))
    assert bmff_problem(path, path.stat().st_size) is None
    path.write_bytes(box(b"ftyp", b"isom") + box(b"mdat", bytes(8)))
    assert bmff_problem(path, path.stat().st_size) == (
        "it has no 'moov' box (the index that says where the audio and video are)"
    )


def test_binary_that_is_not_bmff_goes_on_to_ffprobe(tmp_path: Path) -> None:
    """Binary data that is neither an image nor an MP4 is left for ffprobe to judge (no exception here)."""
    path = tmp_path / "a.mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 4)
    sniff(path)
