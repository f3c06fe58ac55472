"""Transcode settings: the ladder from `REELSCOPE_LADDER`, refusals of inconsistent rungs, the time limit."""

import json

import pytest
from pydantic import ValidationError
from reelscope_transcode.config import DEFAULT_LADDER, Rung, TranscodeSettings

pytestmark = pytest.mark.unit


def test_default_ladder_is_360_720_1080_with_capped_crf() -> None:
    """Out of the box: 360p/720p/1080p, constant quality capped by maxrate/bufsize, main then high profile."""
    settings = TranscodeSettings()
    assert [(r.name, r.height, r.profile) for r in settings.ladder] == [
        ("360p", 360, "main"),
        ("720p", 720, "high"),
        ("1080p", 1080, "high"),
    ]
    assert all(r.crf is not None and r.maxrate_kbps and r.bufsize_kbps for r in settings.ladder)
    assert settings.ladder == DEFAULT_LADDER
    assert settings.hls_default is False


def test_ladder_comes_from_env_json_sorted_by_height(monkeypatch: pytest.MonkeyPatch) -> None:
    """`REELSCOPE_LADDER` is a JSON list of rungs; bitrate rungs are allowed; rungs are sorted by height."""
    ladder = [
        {"name": "480p", "height": 480, "video_bitrate_kbps": 1200, "maxrate_kbps": 1500, "bufsize_kbps": 3000},
        {"name": "240p", "height": 240, "crf": 28, "audio_bitrate_kbps": 64, "profile": "baseline", "level": "3.0"},
    ]
    monkeypatch.setenv("REELSCOPE_LADDER", json.dumps(ladder))
    monkeypatch.setenv("REELSCOPE_HLS_DEFAULT", "true")
    settings = TranscodeSettings()
    assert [r.name for r in settings.ladder] == ["240p", "480p"]
    assert settings.ladder[1].video_bitrate_kbps == 1200
    assert settings.ladder[0].profile == "baseline"
    assert settings.hls_default is True


@pytest.mark.parametrize(
    ("rung", "message"),
    [
        ({"name": "a", "height": 361, "crf": 23}, "height must be even"),
        ({"name": "a", "height": 360}, "exactly one of crf or video_bitrate_kbps"),
        ({"name": "a", "height": 360, "crf": 23, "video_bitrate_kbps": 800}, "exactly one of crf"),
        ({"name": "a", "height": 360, "crf": 23, "maxrate_kbps": 800}, "maxrate_kbps and bufsize_kbps go together"),
        (
            {"name": "a", "height": 360, "video_bitrate_kbps": 900, "maxrate_kbps": 800, "bufsize_kbps": 1600},
            "maxrate_kbps is below video_bitrate_kbps",
        ),
        ({"name": "../x", "height": 360, "crf": 23}, "String should match pattern"),
        ({"name": "a", "height": 360, "crf": 23, "profile": "high10"}, "Input should be"),
    ],
)
def test_inconsistent_rungs_are_refused(rung: dict[str, object], message: str) -> None:
    """A rung that cannot be encoded as written (or would make an unsafe storage key) refuses to load."""
    with pytest.raises(ValidationError, match=message):
        Rung.model_validate(rung)


def test_duplicate_names_or_heights_and_empty_ladders_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rungs with one name or one height, or no rung at all, stop start-up."""
    same_height = [{"name": "a", "height": 360, "crf": 23}, {"name": "b", "height": 360, "crf": 20}]
    for ladder, message in ((same_height, "heights must be unique"), ([], "at least one rung")):
        monkeypatch.setenv("REELSCOPE_LADDER", json.dumps(ladder))
        with pytest.raises(ValidationError, match=message):
            TranscodeSettings()


def test_time_limit_scales_with_duration_within_floor_and_ceiling() -> None:
    """Limit = factor x duration, at least the floor, at most the ceiling; unknown duration gets the ceiling."""
    settings = TranscodeSettings(ffmpeg_timeout_factor=4, ffmpeg_timeout_floor_s=60, ffmpeg_timeout_ceiling_s=3600)
    assert settings.ffmpeg_timeout_s(5) == 60
    assert settings.ffmpeg_timeout_s(100) == 400
    assert settings.ffmpeg_timeout_s(10_000) == 3600
    assert settings.ffmpeg_timeout_s(None) == 3600
    with pytest.raises(ValidationError, match="floor_s is above"):
        TranscodeSettings(ffmpeg_timeout_floor_s=100, ffmpeg_timeout_ceiling_s=50)
