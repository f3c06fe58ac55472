"""The local stack runs transcription with one job and one recogniser process per core (the recogniser is
single-threaded; one at a time left a core idle), unless the environment says otherwise."""

import os
from pathlib import Path

import pytest
from reelscope_cli.stack.components import services
from reelscope_cli.stack.settings import StackSettings

pytestmark = pytest.mark.unit


def _transcription_env(tmp_path: Path) -> dict[str, str]:
    (component,) = [c for c in services(StackSettings(run_dir=tmp_path)) if c.name == "transcription"]
    return component.env


def test_transcription_takes_a_job_per_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REELSCOPE_PREFETCH", raising=False)
    monkeypatch.delenv("REELSCOPE_ASR_WORKERS", raising=False)
    env = _transcription_env(tmp_path)
    cores = str(len(os.sched_getaffinity(0)))
    assert env["REELSCOPE_PREFETCH"] == cores
    assert env["REELSCOPE_ASR_WORKERS"] == cores


def test_the_environment_overrides_the_concurrency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELSCOPE_PREFETCH", "1")
    monkeypatch.setenv("REELSCOPE_ASR_WORKERS", "3")
    env = _transcription_env(tmp_path)
    assert (env["REELSCOPE_PREFETCH"], env["REELSCOPE_ASR_WORKERS"]) == ("1", "3")
    transcode = next(c for c in services(StackSettings(run_dir=tmp_path)) if c.name == "transcode")
    assert "REELSCOPE_ASR_WORKERS" not in transcode.env
