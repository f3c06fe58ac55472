"""The `ffmpeg -progress` parser: blocks, times, the end marker, and values ffmpeg prints before it knows."""

import pytest
from reelscope_transcode.progress import ProgressBlock, ProgressParser

pytestmark = pytest.mark.unit


def feed(parser: ProgressParser, text: str) -> list[ProgressBlock]:
    return [block for line in text.splitlines() if (block := parser.feed(line)) is not None]


def test_blocks_close_on_progress_lines_with_their_out_time() -> None:
    """Each `progress=` line closes a block carrying that block's `out_time_us`, speed and frame."""
    parser = ProgressParser()
    blocks = feed(
        parser,
        "frame=10\nfps=0.0\nout_time_us=400000\nout_time=00:00:00.400000\nspeed=1.5x\nprogress=continue\n"
        "frame=50\nout_time_us=2000000\nspeed=2x\nprogress=continue\n",
    )
    assert [(b.out_time_s, b.speed, b.frame, b.ended) for b in blocks] == [(0.4, 1.5, 10, False), (2.0, 2.0, 50, False)]
    assert parser.last == blocks[-1]


def test_end_marker_means_done() -> None:
    """`progress=end` is a final block whose fraction is 1 whatever the time says."""
    (block,) = feed(ProgressParser(), "out_time_us=9500000\nprogress=end\n")
    assert block.ended
    assert block.fraction(10.0) == 1.0


def test_unknown_times_are_none_not_zero_or_negative() -> None:
    """`N/A` and the negative clock ffmpeg prints before the first packet give no time (and no fraction)."""
    blocks = feed(
        ProgressParser(),
        "out_time_us=N/A\nout_time=N/A\nprogress=continue\n"
        "out_time_us=-9223372036854775807\nout_time=-2562047788:00:54.775807\nprogress=continue\n",
    )
    assert [b.out_time_s for b in blocks] == [None, None]
    assert blocks[0].fraction(10.0) is None


def test_out_time_clock_is_used_when_microseconds_are_missing() -> None:
    """Without `out_time_us`, the `HH:MM:SS.micro` clock gives the time."""
    (block,) = feed(ProgressParser(), "out_time=01:02:03.500000\nprogress=continue\n")
    assert block.out_time_s == pytest.approx(3723.5)


def test_fraction_is_clamped_and_needs_a_duration() -> None:
    """Fraction = out_time / duration within [0, 1]; unknown duration gives None."""
    block = ProgressBlock(out_time_s=12.0, speed=None, frame=None, ended=False)
    assert block.fraction(10.0) == 1.0
    assert ProgressBlock(out_time_s=2.5, speed=None, frame=None, ended=False).fraction(10.0) == 0.25
    assert block.fraction(None) is None


def test_callback_gets_each_block_and_fields_do_not_leak_between_blocks() -> None:
    """`on_block` sees every block; a field from one block is not reused in the next; noise lines are ignored."""
    received: list[ProgressBlock] = []
    parser = ProgressParser(received.append)
    feed(parser, "out_time_us=1000000\nspeed=3x\nprogress=continue\ngarbage without equals\nprogress=continue\n")
    assert [(b.out_time_s, b.speed) for b in received] == [(1.0, 3.0), (None, None)]
