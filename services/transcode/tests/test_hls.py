"""HLS packaging: per-job choice with a configured default, a master playlist that describes what was
actually produced, and variants packaged from the same encode as the MP4s (one ffmpeg run)."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reelscope_contracts import JobKeys
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.stage import TranscodeStage

pytestmark = pytest.mark.integration


async def test_hls_master_and_variants_describe_the_renditions(
    stage: TranscodeStage,
    submit: Any,
    clips: Any,
    progress: Any,
    storage: FilesystemStorage,
    telemetry: CapturedTelemetry,
    probe_output: Callable[[Path], dict[str, Any]],
) -> None:
    """HLS gives a master (BANDWIDTH, RESOLUTION, CODECS) and a playable variant per rendition, from one ffmpeg."""
    job = await submit(clips("720p.mp4"), hls=True)
    result = await stage.run(job, progress)
    keys = JobKeys(job.job_id)
    assert result.hls_master_key == keys.hls_master
    master = storage.path(keys.hls_master).read_text()
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)\n", master)
    assert [uri for _, uri in variants] == ["360p/index.m3u8", "720p/index.m3u8"]
    first, second = (dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', attrs)) for attrs, _ in variants)
    assert first["RESOLUTION"] == "640x360"
    assert first["CODECS"] == '"avc1.4d401f,mp4a.40.2"'  # Main, level 3.1, AAC-LC
    assert second["RESOLUTION"] == "1280x720"
    assert second["CODECS"] == '"avc1.640028,mp4a.40.2"'  # High, level 4.0
    assert 0 < int(first["AVERAGE-BANDWIDTH"]) <= int(first["BANDWIDTH"]) < int(second["BANDWIDTH"])
    for rendition in result.renditions:
        assert rendition.hls_playlist_key == keys.hls_playlist(rendition.name)
        playlist = storage.path(rendition.hls_playlist_key)
        segments = [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]
        assert segments
        assert "#EXT-X-ENDLIST" in playlist.read_text()
        stream = next(s for s in probe_output(playlist.parent / segments[0])["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == (rendition.width, rendition.height)
    assert [s.name for s in telemetry.spans()].count("ffmpeg.transcode") == 1


@pytest.mark.parametrize(("default", "requested", "packaged"), [(True, None, True), (True, False, False)])
async def test_hls_default_comes_from_settings_and_the_job_overrides_it(
    storage: FilesystemStorage,
    telemetry: CapturedTelemetry,
    submit: Any,
    clips: Any,
    progress: Any,
    tmp_path: Path,
    default: bool,
    requested: bool | None,
    packaged: bool,
) -> None:
    """`REELSCOPE_HLS_DEFAULT` applies when a job does not say; a job's own `hls` wins over it."""
    settings = TranscodeSettings(storage_dir=tmp_path / "storage", hls_default=default)
    stage = TranscodeStage(settings, storage, telemetry.telemetry)
    result = await stage.run(await submit(clips("tiny.mp4"), hls=requested), progress)
    assert (result.hls_master_key is not None) is packaged
    hls_keys = await storage.list_keys(JobKeys(result.job_id).hls_prefix)
    assert bool(hls_keys) is packaged
