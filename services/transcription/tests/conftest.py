"""Fixtures for the transcription tests: real flite speech as 16 kHz WAVs, a real pocketsphinx pool,
filesystem storage on tmp_path and in-memory telemetry."""

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from reelscope_bench.asr import synthesise
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry, capture_telemetry
from reelscope_transcription.audio import BYTES_PER_SECOND, SAMPLE_RATE
from reelscope_transcription.engines import SphinxEngine
from reelscope_transcription.pool import RecognizerPool


class Speech:
    """Makes WAVs out of flite sentences and silences; each sentence is synthesised once per session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._pcm: dict[str, bytes] = {}

    def sentence(self, text: str) -> bytes:
        if text not in self._pcm:
            wav = synthesise(text, self.workdir / f"sentence-{len(self._pcm)}.wav")
            with wave.open(str(wav), "rb") as w:
                self._pcm[text] = w.readframes(w.getnframes())
        return self._pcm[text]

    @staticmethod
    def silence(seconds: float) -> bytes:
        return bytes(int(seconds * SAMPLE_RATE) * 2)

    @staticmethod
    def seconds(pcm: bytes) -> float:
        return len(pcm) / BYTES_PER_SECOND

    @staticmethod
    def write(path: Path, *parts: bytes) -> Path:
        """A 16 kHz mono 16-bit WAV made of `parts`, written part by part."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            for part in parts:
                w.writeframes(part)
        return path


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    return Speech(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def sphinx_pool() -> Iterator[RecognizerPool]:
    """Two real pocketsphinx processes, started once for the session."""
    engine = SphinxEngine()
    engine.load()
    pool = RecognizerPool(engine.recognizer(), workers=2)
    pool.warm()
    yield pool
    pool.close()


@pytest.fixture
def storage(tmp_path: Path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "storage")


@pytest.fixture
def telemetry() -> Iterator[CapturedTelemetry]:
    with capture_telemetry("transcription-test") as captured:
        yield captured
