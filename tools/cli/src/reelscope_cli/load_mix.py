"""The clip mix of `reelscope load`: which kinds of clip it submits, in what proportion, and the clips themselves.

The order is deterministic (smooth weighted round-robin), so a short run still holds every kind in its share and
two runs with the same mix submit the same sequence; the clips are made once, small, with the project's samples."""

import argparse
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from reelscope_cli import samples

ClipKind = Literal["short", "long", "speech", "corrupt"]
KINDS: tuple[ClipKind, ...] = get_args(ClipKind)
DEFAULT_MIX = "short=4,long=1,speech=3,corrupt=1"
CLIP_SET_VERSION = "v1"
"""Part of the cache directory's name: bump it when a clip below changes, so no stale clip is reused."""

SIZE = "320x180"


@dataclass(frozen=True)
class Mix:
    """Relative weights of each clip kind (kinds left out are never submitted)."""

    weights: dict[ClipKind, int]

    def order(self) -> Iterator[ClipKind]:
        """Kinds in an endless, evenly interleaved sequence: each kind's share of any window follows its weight."""
        total = sum(self.weights.values())
        current = dict.fromkeys(self.weights, 0)
        while True:
            for kind, weight in self.weights.items():
                current[kind] += weight
            chosen = max(current, key=lambda kind: current[kind])
            current[chosen] -= total
            yield chosen


def parse_mix(text: str) -> Mix:
    """`short=4,long=1,speech=3,corrupt=1` as a Mix; a ValueError says what is wrong with anything else."""
    weights: dict[ClipKind, int] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not KIND=WEIGHT")
        if name not in KINDS:
            raise ValueError(f"unknown clip kind {name!r} (known: {', '.join(KINDS)})")
        if name in weights:
            raise ValueError(f"clip kind {name!r} given twice")
        try:
            weight = int(value)
        except ValueError:
            raise ValueError(f"weight of {name!r} is not a whole number: {value!r}") from None
        if weight < 0:
            raise ValueError(f"weight of {name!r} is negative: {weight}")
        weights[name] = weight
    if not any(weights.values()):
        raise ValueError("every weight is 0: nothing to submit")
    return Mix({kind: weight for kind, weight in weights.items() if weight})


def mix_argument(text: str) -> Mix:
    """argparse `type=` for `--mix`: a bad mix becomes a usage error naming the problem."""
    try:
        return parse_mix(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad mix {text!r}: {exc}") from None


def _short(target: Path) -> Path:
    return samples.make_test_clip(target, size=SIZE, duration_s=2.0, audio=False)


def _long(target: Path) -> Path:
    return samples.make_test_clip(target, size=SIZE, duration_s=20.0, rate=10, audio=False)


def _speech(target: Path) -> Path:
    return samples.make_speech_clip(target, size=SIZE)


def _corrupt(target: Path) -> Path:
    return samples.make_corrupt_clip(target, _short(target.with_name("corrupt-source.mp4")))


MAKERS: dict[ClipKind, Callable[[Path], Path]] = {
    "short": _short,
    "long": _long,
    "speech": _speech,
    "corrupt": _corrupt,
}
"""Short and long silent test patterns, a spoken sentence over the pattern, and a scrambled MP4 (refused, 415)."""


def prepare_clips(kinds: set[ClipKind], directory: Path) -> dict[ClipKind, Path]:
    """The clip of each kind, made into `directory` unless already there (made aside, then moved into place, so
    two runs sharing the directory never read a half-written clip)."""
    directory.mkdir(parents=True, exist_ok=True)
    clips: dict[ClipKind, Path] = {}
    for kind in sorted(kinds):
        clip = directory / f"{kind}.mp4"
        if not clip.exists():
            with tempfile.TemporaryDirectory(dir=directory) as scratch:
                made = MAKERS[kind](Path(scratch) / clip.name)
                os.replace(made, clip)
        clips[kind] = clip
    return clips
