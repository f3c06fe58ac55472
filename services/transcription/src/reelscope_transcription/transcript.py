"""What a recogniser returns: timed segments (a subtitle cue each), per chunk and for a whole job."""

from dataclasses import dataclass, replace

TEXT_LIMIT = 4000
"""`TranscriptInfo.text` holds at most this many characters; the files hold everything."""


@dataclass(frozen=True)
class Segment:
    """A stretch of speech with its start and end in seconds (relative to the chunk, then to the audio)."""

    start: float
    end: float
    text: str

    def shifted(self, offset: float) -> "Segment":
        """The same segment `offset` seconds later (a chunk's segments placed in the whole audio)."""
        return replace(self, start=self.start + offset, end=self.end + offset)

    @property
    def word_count(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class ChunkResult:
    """One chunk recognised: its segments (chunk-relative times) and the language spoken, if detected."""

    segments: tuple[Segment, ...]
    language: str | None = None


@dataclass(frozen=True)
class Transcript:
    """A whole job's speech in order, with the language it was recognised in."""

    segments: tuple[Segment, ...]
    language: str

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def word_count(self) -> int:
        return sum(s.word_count for s in self.segments)


def truncate(text: str, limit: int = TEXT_LIMIT) -> tuple[str, bool]:
    """`text` cut to at most `limit` characters, at a word boundary when there is one; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut), True
