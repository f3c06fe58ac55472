"""Speech recognition quality and speed: word error rate and real-time factor of the configured engine
(`REELSCOPE_ASR_ENGINE`, default pocketsphinx) on a fixed set of English sentences spoken by flite.

The audio goes through the same chunked path the transcription service uses (`recognize_file` and its
process pool), so the figures describe the service, not a shortcut. About 40 s of audio; a minute or
less on two cores with pocketsphinx.
"""

import asyncio
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import jiwer
from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engines import build_engine
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.recognition import Tally, recognize_file
from reelscope_transcription.worker import chunk_plan

SENTENCES: tuple[str, ...] = (
    "the quick brown fox jumps over the lazy dog near the river bank",
    "please call stella and ask her to bring these things with her from the store",
    "the birch canoe slid on the smooth planks",
    "glue the sheet to the dark blue background",
    "it is easy to tell the depth of a well",
    "these days a chicken leg is a rare dish",
    "rice is often served in round bowls",
    "the juice of lemons makes fine punch",
    "the box was thrown beside the parked truck",
    "four hours of steady work faced us",
)
"""Fixed on purpose: figures from different runs and commits compare only on the same words.
Most are Harvard sentences (IEEE 1969), built to be phonetically balanced."""

VOICE = "awb"


def normalise(text: str) -> str:
    """Lowercase, punctuation removed, whitespace collapsed: only the words are compared."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Word errors (substitutions, deletions, insertions) over all reference words, after normalisation."""
    return float(jiwer.wer([normalise(r) for r in references], [normalise(h) or "" for h in hypotheses]))


def synthesise(sentence: str, target: Path) -> Path:
    """`sentence` spoken by flite, as the 16 kHz mono 16-bit WAV the transcode stage hands to transcription."""
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_suffix(".flite.wav")
    subprocess.run(["flite", "-voice", VOICE, "-t", sentence, "-o", str(raw)], check=True)
    to_16k_mono = ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i", str(raw), *to_16k_mono, str(target)], check=True
    )
    raw.unlink()
    return target


async def transcribe_files(wavs: list[Path], settings: TranscriptionSettings) -> tuple[list[str], list[Tally]]:
    """Each file's transcript text and cost, recognised one after another by the configured engine."""
    engine = build_engine(settings)
    engine.load()
    pool = RecognizerPool(engine.recognizer(), settings.asr_workers)
    try:
        await asyncio.get_running_loop().run_in_executor(None, pool.warm)
        texts, tallies = [], []
        for wav in wavs:
            tally = Tally()
            transcript = await recognize_file(
                wav, pool, chunk_plan(settings), fallback_language=engine.fallback_language, tally=tally
            )
            texts.append(transcript.text)
            tallies.append(tally)
        return texts, tallies
    finally:
        pool.close()


def run(workdir: Path, sentences: tuple[str, ...] = SENTENCES) -> dict[str, Any]:
    """Synthesise, transcribe and score `sentences`; a flat dict of figures (and the per-sentence detail)."""
    settings = TranscriptionSettings()
    wavs = [synthesise(s, workdir / "asr" / f"sentence-{i:02d}.wav") for i, s in enumerate(sentences)]
    started = time.perf_counter()
    hypotheses, tallies = asyncio.run(transcribe_files(wavs, settings))
    elapsed = time.perf_counter() - started
    audio_s = sum(t.audio_s for t in tallies)
    recognition_s = sum(t.wall_seconds for t in tallies)
    return {
        "engine": settings.asr_engine,
        "sentences": len(sentences),
        "reference_words": sum(len(normalise(s).split()) for s in sentences),
        "wer": round(word_error_rate(list(sentences), hypotheses), 4),
        "audio_seconds": round(audio_s, 3),
        "recognition_seconds": round(recognition_s, 3),
        "realtime_factor": round(recognition_s / audio_s, 4) if audio_s else None,
        "cpu_seconds": round(sum(t.cpu_seconds for t in tallies), 3),
        "total_seconds_including_model_load": round(elapsed, 3),
        "per_sentence": [
            {"reference": ref, "hypothesis": normalise(hyp), "wer": round(word_error_rate([ref], [hyp]), 4)}
            for ref, hyp in zip(sentences, hypotheses, strict=True)
        ],
    }


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        json.dump(run(Path(tmp)), sys.stdout, indent=2)
        print()
