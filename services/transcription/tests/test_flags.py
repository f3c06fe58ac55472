"""Failure flag `transcriptionSlowdownFactor` in the transcription stage, with real pocketsphinx."""

import time
from pathlib import Path

import pytest
from reelscope_bench.asr import SENTENCES
from reelscope_flags.testing import file_flags
from reelscope_storage import FilesystemStorage
from reelscope_telemetry.testing import CapturedTelemetry
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.recognition import ChunkPlan
from reelscope_transcription.stage import Transcriber

from .conftest import Speech
from .test_stage import store_audio, transcoded

pytestmark = pytest.mark.integration


async def test_slowdown_factor_makes_the_stage_take_that_many_times_longer(
    tmp_path: Path,
    speech: Speech,
    storage: FilesystemStorage,
    sphinx_pool: RecognizerPool,
    telemetry: CapturedTelemetry,
) -> None:
    """With the factor at 3 the stage waits twice the recognition time after recognising, inside the stage's
    span (which carries the flag evaluation and the injected delay); the transcript is unchanged."""
    await store_audio(storage, speech.write(tmp_path / "a.wav", speech.sentence(SENTENCES[0])))
    with file_flags(tmp_path / "flags.json", transcriptionSlowdownFactor="3") as flags:
        transcriber = Transcriber(
            storage, sphinx_pool, "pocketsphinx", "en", ChunkPlan(max_s=8.0, min_s=3.0), telemetry.telemetry, flags
        )
        with telemetry.telemetry.tracer.start_as_current_span("stage"):
            started = time.perf_counter()
            completed = await transcriber.transcribe(transcoded(), lambda _: None)
            elapsed = time.perf_counter() - started
    assert completed.transcript is not None
    assert "quick brown fox" in completed.transcript.text
    (recognize,) = [s for s in telemetry.spans() if s.name == "asr.recognize"]
    assert recognize.end_time is not None
    assert recognize.start_time is not None
    recognition_s = (recognize.end_time - recognize.start_time) / 1e9
    assert elapsed >= 2.9 * recognition_s
    (stage,) = [s for s in telemetry.spans() if s.name == "stage"]
    names = [e.name for e in stage.events]
    assert "feature_flag.evaluation" in names
    (delay,) = [e for e in stage.events if e.name == "reelscope.flag.injected_delay"]
    assert float((delay.attributes or {})["reelscope.flag.delay_s"]) >= 1.9 * recognition_s
