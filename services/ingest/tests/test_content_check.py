"""The upload content check accepts each allowed container by its bytes (real files made by ffmpeg, real ffprobe)
and rejects everything else with a reason naming what the upload is; ffprobe missing or hung is a distinct,
server-side error."""

import os
import subprocess
import time
from pathlib import Path

import pytest
from reelscope_cli.samples import (
    make_empty_file,
    make_image,
    make_subtitles_only_file,
    make_test_clip,
    make_text_file,
    make_truncated_clip,
)
from reelscope_ingest.api.content import ContentRejected, ProbeUnavailable, check_upload, sniff
from reelscope_ingest.core.config import MEDIA_CONTAINERS, ContentCheckSettings
from reelscope_transcode.probe import ALLOWED_DEMUXERS

pytestmark = pytest.mark.unit

_VIDEO = ("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10")
_TONE = ("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100")

# (file name, ffmpeg arguments between the inputs and the output, expected container, expected stream types)
ACCEPTED = [
    ("clip.mp4", (*_VIDEO, *_TONE, "-c:v", "libx264", "-c:a", "aac"), "mov", ("video", "audio")),
    ("clip.mov", (*_VIDEO, "-c:v", "mpeg4"), "mov", ("video",)),
    ("speech.m4a", (*_TONE, "-c:a", "aac"), "mov", ("audio",)),
    ("phone.3gp", (*_VIDEO, "-c:v", "mpeg4"), "mov", ("video",)),
    ("clip.mkv", (*_VIDEO, *_TONE, "-c:v", "libx264", "-c:a", "flac"), "matroska", ("video", "audio")),
    ("clip.webm", (*_VIDEO, *_TONE, "-c:v", "libvpx", "-c:a", "libvorbis"), "matroska", ("video", "audio")),
    ("clip.avi", (*_VIDEO, *_TONE, "-c:v", "mpeg4", "-c:a", "mp3"), "avi", ("video", "audio")),
    ("clip.ts", (*_VIDEO, *_TONE, "-c:v", "libx264", "-c:a", "aac"), "mpegts", ("video", "audio")),
    ("clip.m2ts", (*_VIDEO, "-c:v", "libx264", "-mpegts_m2ts_mode", "1", "-f", "mpegts"), "mpegts", ("video",)),
    ("clip.mpg", (*_VIDEO, *_TONE, "-c:v", "mpeg2video", "-c:a", "mp2"), "mpeg", ("video", "audio")),
    ("clip.flv", (*_VIDEO, *_TONE, "-c:v", "flv", "-c:a", "mp3", "-ar", "44100"), "flv", ("video", "audio")),
    ("clip.wmv", (*_VIDEO, *_TONE, "-c:v", "wmv2", "-c:a", "wmav2"), "asf", ("video", "audio")),
    ("sound.ogg", (*_TONE, "-c:a", "libvorbis"), "ogg", ("audio",)),
    ("sound.wav", (*_TONE,), "wav", ("audio",)),
    ("sound.w64", (*_TONE,), "w64", ("audio",)),
    ("sound.aiff", (*_TONE,), "aiff", ("audio",)),
    ("tagged.mp3", (*_TONE, "-c:a", "libmp3lame", "-metadata", "title=tagged"), "mp3", ("audio",)),
    ("bare.mp3", (*_TONE, "-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0"), "mp3", ("audio",)),
    ("sound.flac", (*_TONE,), "flac", ("audio",)),
    ("sound.aac", (*_TONE, "-c:a", "aac", "-f", "adts"), "aac", ("audio",)),
]


def _ffmpeg(target: Path, args: tuple[str, ...]) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args, "-t", "0.6", str(target)], check=True
    )
    return target


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of small real files, one per accepted format, made once for the module."""
    directory = tmp_path_factory.mktemp("media")
    for name, args, _, _ in ACCEPTED:
        _ffmpeg(directory / name, args)
    return directory


@pytest.mark.parametrize(("name", "container", "streams"), [(n, c, s) for n, _, c, s in ACCEPTED])
async def test_each_allowed_container_is_accepted(
    media: Path, name: str, container: str, streams: tuple[str, ...]
) -> None:
    """A real file of each allowed container passes both steps; the result names the demuxer and its streams."""
    result = await check_upload(media / name, timeout_s=30)
    assert result.container == container
    assert result.format_name.split(",")[0] == container
    assert sorted(result.stream_types) == sorted(streams)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm", "sound.wav"])
async def test_the_name_does_not_matter(media: Path, tmp_path: Path, name: str) -> None:
    """The same bytes under a meaningless name are accepted the same: the content decides, not the suffix."""
    renamed = tmp_path / "upload.bin"
    renamed.write_bytes((media / name).read_bytes())
    assert await check_upload(renamed) == await check_upload(media / name)


def _png(target: Path) -> Path:
    return make_image(target.with_suffix(".png"))


async def _rejected(path: Path, **kwargs: object) -> ContentRejected:
    with pytest.raises(ContentRejected) as rejected:
        await check_upload(path, **kwargs)  # type: ignore[arg-type]
    assert str(path.parent) not in rejected.value.reason  # no server path in what the client is told
    return rejected.value


async def test_a_png_is_rejected_as_an_image(tmp_path: Path) -> None:
    """A PNG is named as such, before ffprobe sees it."""
    rejected = await _rejected(_png(tmp_path / "still"))
    assert (rejected.code, rejected.reason) == ("not_media", "the upload is a PNG image, not a video or audio file")


async def test_a_jpeg_is_rejected_as_an_image(tmp_path: Path) -> None:
    """A JPEG is named as such."""
    rejected = await _rejected(make_image(tmp_path / "photo.jpg"))
    assert (rejected.code, rejected.reason) == ("not_media", "the upload is a JPEG image, not a video or audio file")


async def test_a_png_renamed_to_mp4_is_still_a_png(tmp_path: Path) -> None:
    """The .mp4 suffix does not help a PNG: its bytes say what it is."""
    renamed = tmp_path / "holiday.mp4"
    renamed.write_bytes(_png(tmp_path / "still").read_bytes())
    rejected = await _rejected(renamed)
    assert rejected.reason == "the upload is a PNG image, not a video or audio file"


async def test_a_heic_photo_is_not_taken_for_an_mp4(tmp_path: Path) -> None:
    """An ISO BMFF file whose brand is a still-image brand (a phone's HEIC photo) is an image, not a video."""
    photo = tmp_path / "IMG_0001.mp4"
    photo.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(256))
    assert (await _rejected(photo)).reason == "the upload is a HEIF/HEIC image, not a video or audio file"


async def test_text_is_rejected_as_text(tmp_path: Path) -> None:
    """A README renamed to .mp4 is plain text."""
    rejected = await _rejected(make_text_file(tmp_path / "readme.mp4"))
    assert (rejected.code, rejected.reason) == ("not_media", "the upload is plain text, not a video or audio file")


async def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    """Zero bytes are refused as empty."""
    rejected = await _rejected(make_empty_file(tmp_path / "empty.mp4"))
    assert (rejected.code, rejected.reason) == ("empty", "the upload is empty (0 bytes)")


async def test_random_bytes_are_not_a_container(tmp_path: Path) -> None:
    """Random bytes (seeded, with no media signature at the start) are not a recognised container."""
    noise = tmp_path / "noise.mkv"
    noise.write_bytes(b"\x01\x02" + bytes(range(256)) * 64)
    rejected = await _rejected(noise)
    assert (rejected.code, rejected.reason) == ("unknown_container", "the upload is not a recognised media container")
    os_random = tmp_path / "urandom.mp4"
    os_random.write_bytes(b"\x00\x11" + os.urandom(64 * 1024))
    assert (await _rejected(os_random)).code == "unknown_container"


async def test_a_truncated_mp4_whose_index_is_lost_is_rejected_by_ffprobe(media: Path, tmp_path: Path) -> None:
    """An MP4 cut in half with its index (moov) at the end has the right magic bytes, but ffprobe cannot parse
    it: rejected with ffprobe's reason, the server path replaced."""
    truncated = make_truncated_clip(tmp_path / "cut.mp4", media / "clip.mp4")
    rejected = await _rejected(truncated)
    assert rejected.code == "unparseable"
    assert rejected.reason.startswith("ffprobe could not parse it: ")
    assert rejected.reason == (
        "ffprobe could not parse it: moov atom not found; the upload: Invalid data found when processing input"
    )


async def test_a_truncated_mp4_with_its_index_first_is_left_to_transcode(tmp_path: Path) -> None:
    """The chosen limit: a faststart MP4 cut short still parses, so it passes here; transcode's box walk fails
    that job ("the 'mdat' box ... declares N bytes but the file ends ...")."""
    whole = make_test_clip(tmp_path / "fast.mp4", size="160x120", duration_s=1, extra=("-movflags", "+faststart"))
    truncated = make_truncated_clip(tmp_path / "cut.mp4", whole, keep_fraction=0.6)
    assert (await check_upload(truncated)).container == "mov"


async def test_a_container_outside_the_allowed_list_is_named(media: Path) -> None:
    """With only MP4/MOV allowed, a WebM is refused at the first step, named, with the accepted list."""
    rejected = await _rejected(media / "clip.webm", allowed=["mov"])
    assert rejected.code == "container_not_allowed"
    assert rejected.reason == "the upload is a Matroska/WebM file, which is not accepted (accepted: MP4/MOV file)"


async def test_a_container_with_no_audio_or_video_is_rejected(tmp_path: Path) -> None:
    """A Matroska file holding only subtitles parses, but carries nothing to transcode."""
    subs = make_subtitles_only_file(tmp_path / "subs.mkv")
    rejected = await _rejected(subs)
    assert (rejected.code, rejected.reason) == (
        "no_media_streams",
        "the upload has no audio or video stream (only subtitle)",
    )


async def test_a_missing_ffprobe_is_a_server_problem(media: Path, tmp_path: Path) -> None:
    """No ffprobe on the server raises ProbeUnavailable (503), not ContentRejected (415)."""
    with pytest.raises(ProbeUnavailable, match="is not installed on this server"):
        await check_upload(media / "clip.mp4", ffprobe=str(tmp_path / "no-ffprobe"))


async def test_a_hung_ffprobe_is_stopped_at_the_timeout(media: Path, tmp_path: Path) -> None:
    """A probe that does not finish (a stand-in that sleeps) is killed at timeout_s and reported as unavailable."""
    hung = tmp_path / "ffprobe"
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(ProbeUnavailable, match=r"did not finish checking the upload within 0\.5 s"):
        await check_upload(media / "clip.mp4", timeout_s=0.5, ffprobe=str(hung))
    assert time.monotonic() - started < 5


def test_sniff_alone_needs_no_ffprobe(media: Path) -> None:
    """The first step is synchronous and reads only the head: it names the container of each sample."""
    assert {name: sniff(media / name) for name, _, _, _ in ACCEPTED} == {name: c for name, _, c, _ in ACCEPTED}


def test_the_known_containers_are_transcodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest accepts exactly the demuxers transcode allowlists, by default; an unknown name refuses to start."""
    assert set(MEDIA_CONTAINERS) == set(ALLOWED_DEMUXERS)
    monkeypatch.delenv("REELSCOPE_ALLOWED_CONTAINERS", raising=False)
    assert ContentCheckSettings().allowed_containers == list(MEDIA_CONTAINERS)
    monkeypatch.setenv("REELSCOPE_ALLOWED_CONTAINERS", '["mov", "matroska"]')
    assert ContentCheckSettings().allowed_containers == ["mov", "matroska"]
    monkeypatch.setenv("REELSCOPE_ALLOWED_CONTAINERS", '["mov", "image2"]')
    with pytest.raises(ValueError, match=r"unknown container\(s\) \['image2'\]"):
        ContentCheckSettings()
