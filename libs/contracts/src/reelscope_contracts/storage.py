"""Where a job's objects live in storage, addressed by job id.

Messages carry storage keys (`jobs/<job_id>/...`), never host paths, so services may use a shared
volume mounted anywhere or an object store. Transcode publishes everything under `media/` at once.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class JobKeys:
    """The layout of one job's objects."""

    job_id: str

    @property
    def prefix(self) -> str:
        return f"jobs/{self.job_id}"

    def input(self, suffix: str) -> str:
        return f"{self.prefix}/input/source{suffix}"

    @property
    def media_prefix(self) -> str:
        """Everything transcode makes (renditions, HLS, poster, speech audio), published together."""
        return f"{self.prefix}/media"

    def rendition(self, name: str) -> str:
        return f"{self.media_prefix}/renditions/{name}.mp4"

    @property
    def hls_prefix(self) -> str:
        return f"{self.media_prefix}/hls"

    @property
    def hls_master(self) -> str:
        return f"{self.hls_prefix}/master.m3u8"

    def hls_playlist(self, name: str) -> str:
        return f"{self.hls_prefix}/{name}/index.m3u8"

    @property
    def poster(self) -> str:
        return f"{self.media_prefix}/poster.jpg"

    @property
    def audio(self) -> str:
        return f"{self.media_prefix}/audio/speech-16k.wav"

    @property
    def transcript_prefix(self) -> str:
        return f"{self.prefix}/transcript"

    @property
    def transcript_text(self) -> str:
        return f"{self.transcript_prefix}/transcript.txt"

    @property
    def transcript_vtt(self) -> str:
        return f"{self.transcript_prefix}/transcript.vtt"

    @property
    def transcript_srt(self) -> str:
        return f"{self.transcript_prefix}/transcript.srt"

    @property
    def cancel_marker(self) -> str:
        """Written by ingest when the job is cancelled; workers check it before a stage starts and before
        they publish its outcome."""
        return f"{self.prefix}/cancelled"

    def stage_done(self, stage: str) -> str:
        """Written once a stage finished for this job, so a redelivered message is not processed twice."""
        return f"{self.prefix}/stages/{stage}.done"

    @staticmethod
    def within(prefix: str, key: str) -> str:
        """`key` relative to `prefix` (to place a file inside a staged output directory)."""
        if not key.startswith(prefix + "/"):
            raise ValueError(f"{key!r} is not under {prefix!r}")
        return key[len(prefix) + 1 :]
