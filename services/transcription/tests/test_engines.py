"""Engine choice and start-up checks: settings refuse impossible combinations, and a faster-whisper
worker that lacks the package or a local model stops at start-up saying what is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engines import SphinxEngine, WhisperEngine, build_engine
from reelscope_transcription.engines.whisper import WhisperRecognizer
from reelscope_transcription.exceptions import EngineUnavailable
from reelscope_transcription.pool import RecognizerPool


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("REELSCOPE_ASR_", "REELSCOPE_WHISPER_")):
            monkeypatch.delenv(name)


@pytest.mark.unit
def test_engine_is_chosen_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """REELSCOPE_ASR_ENGINE picks the engine; its settings reach it."""
    assert isinstance(build_engine(TranscriptionSettings()), SphinxEngine)
    monkeypatch.setenv("REELSCOPE_ASR_ENGINE", "faster-whisper")
    monkeypatch.setenv("REELSCOPE_WHISPER_MODEL", "/models/small")
    monkeypatch.setenv("REELSCOPE_WHISPER_COMPUTE_TYPE", "int8_float32")
    engine = build_engine(TranscriptionSettings())
    assert isinstance(engine, WhisperEngine)
    assert (engine.model, engine.compute_type, engine.fallback_language) == ("/models/small", "int8_float32", "und")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REELSCOPE_ASR_ENGINE": "kaldi"}, "asr_engine"),
        ({"REELSCOPE_ASR_LANGUAGE": "fr"}, "pocketsphinx ships only a US English model"),
        ({"REELSCOPE_ASR_CHUNK_MIN_S": "40"}, "must be smaller than REELSCOPE_ASR_CHUNK_MAX_S"),
        ({"REELSCOPE_ASR_WORKERS": "0"}, "asr_workers"),
    ],
)
def test_impossible_settings_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    """Settings that cannot work are refused at start-up, naming what is wrong."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        TranscriptionSettings()


@pytest.mark.unit
def test_pocketsphinx_loads_its_bundled_model() -> None:
    """The default engine needs nothing but its wheel: load() succeeds and declares its language."""
    engine = SphinxEngine("en-US")
    engine.load()
    assert engine.recognizer().language == "en-US"


@pytest.mark.unit
def test_whisper_without_the_package_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without faster-whisper (hidden from imports here: the dev environment has it), load() names the missing
    package, the extra to install, and a missing model dir."""
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # `import faster_whisper` now raises ImportError
    with pytest.raises(EngineUnavailable) as failure:
        WhisperEngine(str(tmp_path / "no-such-model")).load()
    message = str(failure.value)
    assert "the faster-whisper package is not installed" in message
    assert "reelscope-transcription[whisper]" in message
    assert f"model directory {tmp_path / 'no-such-model'} does not exist" in message
    assert "REELSCOPE_WHISPER_MODEL" in message


@pytest.mark.unit
@pytest.mark.parametrize("model", ["small", "not-a-model-dir"])
def test_whisper_without_a_local_model_says_how_to_provide_one(tmp_path: Path, model: str) -> None:
    """With faster-whisper but no local model (a name not in the cache, or a directory without model.bin),
    load() refuses without trying to download, and says to point REELSCOPE_WHISPER_MODEL at a model directory."""
    if model != "small":
        (tmp_path / model).mkdir()
        model = str(tmp_path / model)
    with pytest.raises(EngineUnavailable) as failure:
        WhisperEngine(model).load()
    message = str(failure.value)
    assert "never downloads" in message or "has no model.bin" in message
    assert "set REELSCOPE_WHISPER_MODEL to that directory" in message


@pytest.mark.integration
def test_worker_with_unavailable_whisper_stops_at_start_up(tmp_path: Path) -> None:
    """`python -m reelscope_transcription` with faster-whisper selected but unusable exits non-zero at once,
    before reaching for the broker (its URL here goes nowhere), with the reason on stderr."""
    env = {
        **os.environ,
        "REELSCOPE_ASR_ENGINE": "faster-whisper",
        "REELSCOPE_WHISPER_MODEL": "small",
        "REELSCOPE_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/",
        "REELSCOPE_STORAGE_DIR": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),  # an empty model cache, whatever this machine has downloaded
        "OTEL_SDK_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-m", "reelscope_transcription"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.startswith("transcription worker cannot start: faster-whisper cannot start: ")
    assert "whisper model 'small' is not in the local model cache" in result.stderr


@pytest.mark.integration
def test_recogniser_processes_that_cannot_load_stop_the_start_up() -> None:
    """If the pool processes cannot load the model, warm() raises EngineUnavailable instead of leaving a
    worker whose every job would fail."""
    recognizer = WhisperRecognizer("/nonexistent/model", "cpu", "int8", 0, 1, None)
    pool = RecognizerPool(recognizer, workers=1)
    try:
        with pytest.raises(EngineUnavailable, match="the recogniser processes could not start: "):
            pool.warm()
    finally:
        pool.close()
