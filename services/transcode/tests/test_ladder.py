"""Ladder planning on display dimensions: no upscaling, even sizes, aspect kept, portrait by its short side,
below-ladder sources at their own size; constant output frame rates."""

from fractions import Fraction

import pytest
from reelscope_transcode.config import DEFAULT_LADDER
from reelscope_transcode.ladder import output_frame_rate, plan_ladder
from reelscope_transcode.probe import VideoStream

pytestmark = pytest.mark.unit


def video(width: int, height: int, rate: Fraction | None = Fraction(25)) -> VideoStream:
    return VideoStream(
        index=0,
        codec="h264",
        pix_fmt="yuv420p",
        coded_width=width,
        coded_height=height,
        rotation=0,
        display_width=width,
        display_height=height,
        frame_rate=rate,
    )


def sizes(width: int, height: int) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_ladder(video(width, height), DEFAULT_LADDER).renditions]


def test_full_hd_gets_the_whole_ladder() -> None:
    """1920x1080 gets 640x360, 1280x720 and 1920x1080, nothing skipped."""
    plan = plan_ladder(video(1920, 1080), DEFAULT_LADDER)
    assert sizes(1920, 1080) == [("360p", 640, 360), ("720p", 1280, 720), ("1080p", 1920, 1080)]
    assert plan.skipped == ()


def test_480p_skips_the_rungs_above_it_saying_why() -> None:
    """854x480 gets 360p only; 720p and 1080p are skipped with the source size in the reason."""
    plan = plan_ladder(video(854, 480), DEFAULT_LADDER)
    assert [(r.name, r.width, r.height) for r in plan.renditions] == [("360p", 640, 360)]
    assert [(s.name, s.reason) for s in plan.skipped] == [
        ("720p", "source is 854x480; 720p would upscale"),
        ("1080p", "source is 854x480; 1080p would upscale"),
    ]


def test_portrait_is_planned_on_its_short_side() -> None:
    """A 1080x1920 portrait source gets 360x640, 720x1280 and 1080x1920."""
    assert sizes(1080, 1920) == [("360p", 360, 640), ("720p", 720, 1280), ("1080p", 1080, 1920)]


def test_sizes_are_even_and_never_wider_than_the_source() -> None:
    """Odd or awkward aspect ratios round to even sizes, never beyond the source's own (even) width."""
    assert sizes(853, 479) == [("360p", 642, 360)]
    assert sizes(641, 360) == [("360p", 640, 360)]  # 641 would round up past the source: capped at 640
    for width, height in ((1000, 563), (2048, 858), (720, 1280), (1441, 1081)):
        for _, w, h in sizes(width, height):
            assert w % 2 == 0
            assert h % 2 == 0
            assert w <= width
            assert h <= height


def test_source_below_the_ladder_gets_its_own_even_size() -> None:
    """A 321x181 source is below 360p: one rendition at 320x180 named 180p, every rung skipped."""
    plan = plan_ladder(video(321, 181), DEFAULT_LADDER)
    assert [(r.name, r.width, r.height) for r in plan.renditions] == [("180p", 320, 180)]
    assert plan.renditions[0].rung == DEFAULT_LADDER[0]
    assert len(plan.skipped) == 3


def test_audio_only_plans_no_renditions() -> None:
    """No video: no renditions, every rung skipped as audio only."""
    plan = plan_ladder(None, DEFAULT_LADDER)
    assert plan.renditions == ()
    assert {s.reason for s in plan.skipped} == {"input has no video stream (audio only)"}


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        (Fraction(30000, 1001), Fraction(30000, 1001)),
        (Fraction(2997, 100), Fraction(30000, 1001)),  # a VFR phone clip's average snaps to NTSC 29.97
        (Fraction(150, 7), Fraction(150, 7)),  # an unusual average is kept
        (Fraction(120), Fraction(60)),  # capped
        (None, Fraction(30)),  # unknown
        (Fraction(90000), Fraction(30)),  # a timebase, not a rate
    ],
)
def test_output_frame_rate(measured: Fraction | None, expected: Fraction) -> None:
    """Outputs are constant-rate at the source's average, snapped to standard rates, capped at the maximum."""
    assert output_frame_rate(video(640, 360, measured), 60) == expected
