"""Reading ffprobe's JSON: the streams we use (cover pictures are not video), display size after rotation and
pixel aspect, duration, and refusals for files with nothing to transcode."""

from fractions import Fraction
from typing import Any

import pytest
from reelscope_contracts import FailureCategory
from reelscope_messaging import StageFailed
from reelscope_transcode.probe import parse

pytestmark = pytest.mark.unit


def video(**extra: Any) -> dict[str, Any]:
    return {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080, **extra}


AUDIO = {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2, "sample_rate": "48000"}
FORMAT = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "12.5"}


def test_video_and_audio_are_described() -> None:
    """Demuxer short name, duration, display size, frame rate and the first audio track."""
    info = parse({"streams": [video(avg_frame_rate="30000/1001"), AUDIO], "format": FORMAT}, 1000)
    assert info.demuxer == "mov"
    assert info.duration_s == 12.5
    assert info.video is not None
    assert (info.video.display_width, info.video.display_height) == (1920, 1080)
    assert info.video.frame_rate == Fraction(30000, 1001)
    assert info.audio is not None
    assert (info.audio.index, info.audio.channels, info.audio.sample_rate) == (1, 2, 48000)


@pytest.mark.parametrize(
    ("stream", "display"),
    [
        (video(side_data_list=[{"side_data_type": "Display Matrix", "rotation": -90}]), (1080, 1920)),
        (video(side_data_list=[{"side_data_type": "Display Matrix", "rotation": 180}]), (1920, 1080)),
        (video(tags={"rotate": "270"}), (1080, 1920)),
        (video(width=480, height=360, sample_aspect_ratio="4:3"), (640, 360)),
        (video(width=720, height=576, sample_aspect_ratio="0:1"), (720, 576)),
    ],
)
def test_display_size_applies_rotation_and_pixel_aspect(stream: dict[str, Any], display: tuple[int, int]) -> None:
    """Rotation by 90/270 swaps the sides; a non-square sample aspect stretches the width; 0:1 means square."""
    info = parse({"streams": [stream], "format": FORMAT}, 1000)
    assert info.video is not None
    assert (info.video.display_width, info.video.display_height) == display


def test_cover_picture_is_not_a_video() -> None:
    """An attached picture (album art) next to audio makes an audio-only input."""
    cover = video(index=1, codec_name="mjpeg", disposition={"attached_pic": 1})
    info = parse({"streams": [{**AUDIO, "index": 0}, cover], "format": FORMAT}, 1000)
    assert info.video is None
    assert info.audio is not None


@pytest.mark.parametrize(
    ("streams", "reason"),
    [
        ([], "input has no video or audio stream (no streams at all)"),
        ([{"index": 0, "codec_type": "subtitle"}, {"index": 1, "codec_type": "data"}], "(only data, subtitle)"),
        ([video(disposition={"attached_pic": 1})], "(only a cover picture)"),
    ],
)
def test_nothing_to_transcode_is_unsupported_media(streams: list[dict[str, Any]], reason: str) -> None:
    """No streams, only subtitles/data, or only a cover picture: UNSUPPORTED_MEDIA with what was found."""
    with pytest.raises(StageFailed) as failure:
        parse({"streams": streams, "format": FORMAT}, 1000)
    assert failure.value.category is FailureCategory.UNSUPPORTED_MEDIA
    assert failure.value.reason.endswith(reason)


def test_oversized_video_is_refused() -> None:
    """A picture larger than 8192 on a side is refused before any decoder allocates it."""
    with pytest.raises(StageFailed, match="16384x16384"):
        parse({"streams": [video(width=16384, height=16384)], "format": FORMAT}, 1000)


def test_unknown_duration_is_none() -> None:
    """A container without a duration (live-recorded WebM) gives None, not 0, so the encode still runs."""
    info = parse({"streams": [video()], "format": {"format_name": "matroska,webm"}}, 1000)
    assert info.duration_s is None
    assert info.demuxer == "matroska"
