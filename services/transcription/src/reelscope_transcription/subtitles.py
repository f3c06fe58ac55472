"""Timed segments as subtitle files: WebVTT (`00:00:01.250`) and SubRip (`00:00:01,250`, numbered cues),
plus the word-to-cue grouping for engines that only time single words."""

from collections.abc import Iterable, Sequence

from reelscope_transcription.transcript import Segment

MIN_CUE_S = 0.01
"""Both formats need a cue to end after it starts; a zero-length segment is stretched by this much."""


def group_words(words: Sequence[Segment], max_words: int, max_pause_s: float) -> list[Segment]:
    """Join timed words into cues, starting a new one after a pause longer than `max_pause_s` or `max_words` words."""
    groups: list[list[Segment]] = []
    for word in words:
        if groups and len(groups[-1]) < max_words and word.start - groups[-1][-1].end <= max_pause_s:
            groups[-1].append(word)
        else:
            groups.append([word])
    return [Segment(g[0].start, g[-1].end, " ".join(w.text for w in g)) for g in groups]


def timestamp(seconds: float, decimal: str = ".") -> str:
    """`HH:MM:SS.mmm` (WebVTT) or, with `decimal=","`, `HH:MM:SS,mmm` (SRT)."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _cues(segments: Iterable[Segment]) -> list[tuple[float, float, str]]:
    cues = []
    for segment in segments:
        text = " ".join(segment.text.split())
        if text:
            cues.append((segment.start, max(segment.end, segment.start + MIN_CUE_S), text))
    return cues


def _vtt_escape(text: str) -> str:
    # Cue text is parsed for tags and entities; "-->" would end the cue's timing line.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(segments: Iterable[Segment]) -> str:
    """A complete WebVTT document (just the header when nothing was said)."""
    blocks = ["WEBVTT", ""]
    for index, (start, end, text) in enumerate(_cues(segments), start=1):
        blocks += [str(index), f"{timestamp(start)} --> {timestamp(end)}", _vtt_escape(text), ""]
    return "\n".join(blocks)


def to_srt(segments: Iterable[Segment]) -> str:
    """A complete SubRip document: cues numbered from 1, comma before the milliseconds (empty when nothing was said)."""
    blocks = []
    for index, (start, end, text) in enumerate(_cues(segments), start=1):
        blocks.append(f"{index}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{text.replace('-->', '->')}\n")
    return "\n".join(blocks)
