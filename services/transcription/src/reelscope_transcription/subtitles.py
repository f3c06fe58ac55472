"""Turn timed words into WebVTT cues: a new cue after a pause or after a few words."""

from reelscope_transcription.engine import Word


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def group_cues(words: list[Word], max_words: int, max_pause_s: float) -> list[list[Word]]:
    """Split words into cues at pauses longer than `max_pause_s` or every `max_words` words."""
    cues: list[list[Word]] = []
    for word in words:
        if cues and len(cues[-1]) < max_words and word.start - cues[-1][-1].end <= max_pause_s:
            cues[-1].append(word)
        else:
            cues.append([word])
    return cues


def to_webvtt(words: list[Word], max_words: int = 8, max_pause_s: float = 0.8) -> str:
    """A complete WebVTT document (an empty one when nothing was said)."""
    blocks = ["WEBVTT", ""]
    for index, cue in enumerate(group_cues(words, max_words, max_pause_s), start=1):
        blocks += [
            str(index),
            f"{_timestamp(cue[0].start)} --> {_timestamp(cue[-1].end)}",
            " ".join(w.text for w in cue),
            "",
        ]
    return "\n".join(blocks)
