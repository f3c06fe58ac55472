"""Subtitle and transcript formats: exact WebVTT and SRT text, cue grouping, truncation."""

import pytest
from reelscope_transcription.subtitles import group_words, timestamp, to_srt, to_webvtt
from reelscope_transcription.transcript import Segment, Transcript, truncate

pytestmark = pytest.mark.unit

SEGMENTS = (Segment(0.0, 1.5, "hello there"), Segment(3661.25, 3662.0, "an hour later"))


def test_webvtt_document_is_exact() -> None:
    """WebVTT: header, blank line, numbered cues with dot-millisecond times and a blank line after each."""
    assert to_webvtt(SEGMENTS) == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nhello there\n\n2\n01:01:01.250 --> 01:01:02.000\nan hour later\n"
    )


def test_srt_document_is_exact() -> None:
    """SRT: cues numbered from 1, comma before the milliseconds, blank line between cues, no header."""
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:01,500\nhello there\n\n2\n01:01:01,250 --> 01:01:02,000\nan hour later\n"
    )


def test_empty_transcript_gives_valid_empty_documents() -> None:
    """Nothing said: WebVTT is just its header, SRT is empty; blank segments are not cues."""
    assert to_webvtt([Segment(0, 1, "  ")]) == "WEBVTT\n"
    assert to_srt([]) == ""


def test_cue_text_is_escaped_and_cues_never_have_zero_length() -> None:
    """WebVTT cue text escapes &, < and >; a zero-length segment still ends after it starts."""
    vtt = to_webvtt([Segment(2.0, 2.0, "a <b> & c --> d")])
    assert "a &lt;b&gt; &amp; c --&gt; d" in vtt
    assert "00:00:02.000 --> 00:00:02.010" in vtt
    assert "c -> d" in to_srt([Segment(2.0, 2.0, "c --> d")])


def test_timestamp_rounds_to_milliseconds() -> None:
    """Seconds are rounded to the millisecond; negative times clamp to zero."""
    assert timestamp(59.9996) == "00:01:00.000"
    assert timestamp(-0.2, ",") == "00:00:00,000"


def test_words_group_into_cues_at_pauses_and_word_limits() -> None:
    """A pause longer than the limit, or a full cue, starts a new cue spanning its first to last word."""
    words = [Segment(i * 0.5, i * 0.5 + 0.4, f"w{i}") for i in range(5)] + [Segment(10.0, 10.5, "late")]
    cues = group_words(words, max_words=3, max_pause_s=0.8)
    assert [c.text for c in cues] == ["w0 w1 w2", "w3 w4", "late"]
    assert (cues[0].start, cues[0].end) == (0.0, 1.4)


def test_truncate_cuts_at_a_word_boundary_and_says_so() -> None:
    """Text longer than the limit is cut at the last space inside it; shorter text is untouched."""
    assert truncate("short text", 100) == ("short text", False)
    assert truncate("alpha beta gamma", 12) == ("alpha beta", True)
    assert truncate("x" * 20, 8) == ("x" * 8, True)


def test_transcript_text_and_word_count() -> None:
    """Transcript text joins segments with single spaces; words are counted across segments."""
    transcript = Transcript(SEGMENTS, "en")
    assert transcript.text == "hello there an hour later"
    assert transcript.word_count == 5
    assert SEGMENTS[0].shifted(10).start == 10.0
