"""Which renditions a source gets, at which size and frame rate, and which rungs are skipped and why.

Planning works on display dimensions (rotation and pixel aspect applied) and on the short side, so a
portrait phone clip gets portrait renditions of the same "p" as a landscape one. Nothing is upscaled.
"""

from dataclasses import dataclass
from fractions import Fraction

from reelscope_contracts import SkippedRendition

from reelscope_transcode.config import Rung
from reelscope_transcode.probe import VideoStream

# Frame rates players and encoders know; a measured average close to one of them snaps to it.
STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
)
FALLBACK_RATE = Fraction(30)


@dataclass(frozen=True)
class PlannedRendition:
    """One output of the ladder: its rung's encoder settings and its exact (even) output size."""

    name: str
    rung: Rung
    width: int
    height: int


@dataclass(frozen=True)
class LadderPlan:
    """The renditions to make and the rungs left out."""

    renditions: tuple[PlannedRendition, ...]
    skipped: tuple[SkippedRendition, ...]

    @property
    def largest(self) -> PlannedRendition | None:
        return self.renditions[-1] if self.renditions else None


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _even_floor(value: int) -> int:
    return max(2, value - value % 2)


def fit(video: VideoStream, short_side: int) -> tuple[int, int]:
    """Output size with `short_side` as the short side, the display aspect ratio kept, both sides even,
    never larger than the source."""
    width, height = video.display_width, video.display_height
    if width >= height:
        return min(_even(width * short_side / height), _even_floor(width)), short_side
    return short_side, min(_even(height * short_side / width), _even_floor(height))


def plan_ladder(video: VideoStream | None, ladder: tuple[Rung, ...]) -> LadderPlan:
    """Every rung whose height fits the source's short side; a source below the whole ladder gets one
    rendition at its own even size (with the smallest rung's encoder settings)."""
    if video is None:
        audio_only = "input has no video stream (audio only)"
        return LadderPlan((), tuple(SkippedRendition(name=r.name, reason=audio_only) for r in ladder))
    width, height = video.display_width, video.display_height
    short = min(width, height)
    planned: list[PlannedRendition] = []
    skipped: list[SkippedRendition] = []
    for rung in ladder:
        if rung.height <= short:
            planned.append(PlannedRendition(rung.name, rung, *fit(video, rung.height)))
        else:
            reason = f"source is {width}x{height}; {rung.name} would upscale"
            skipped.append(SkippedRendition(name=rung.name, reason=reason))
    if not planned:
        own_width, own_height = _even_floor(width), _even_floor(height)
        name = f"{min(own_width, own_height)}p"
        planned.append(PlannedRendition(name, ladder[0], own_width, own_height))
    return LadderPlan(tuple(planned), tuple(skipped))


def output_frame_rate(video: VideoStream, max_rate: float) -> Fraction:
    """A constant output rate: the source's average (so variable-rate input neither floods nor starves the
    encoder), snapped to a standard rate within 1.5 %, capped at `max_rate`."""
    rate = video.frame_rate
    if rate is None or rate > 1000:
        return FALLBACK_RATE
    for standard in STANDARD_RATES:
        if abs(rate - standard) / standard <= Fraction(15, 1000):
            rate = standard
            break
    else:
        rate = rate.limit_denominator(1001)
    cap = Fraction(max_rate).limit_denominator(1001)
    return min(rate, cap)
