"""faster-whisper (CTranslate2 Whisper), an optional engine: `pip install 'reelscope-transcription[whisper]'`.

This worker never downloads a model (production machines may have no route to a model hub): the model
must be a local CTranslate2 Whisper directory, or a name already in the local Hugging Face cache. Anything
missing stops the worker at start-up with what is missing and how to provide it, never a silent fallback.
numpy and faster_whisper are imported by name because they exist only where the extra is installed.
"""

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelscope_transcription.audio import AudioChunk
from reelscope_transcription.exceptions import EngineUnavailable
from reelscope_transcription.transcript import ChunkResult, Segment

INSTALL_HINT = (
    "install the optional extra: `pip install 'reelscope-transcription[whisper]'` "
    "(in the workspace: `uv sync --all-packages --extra whisper`)"
)
MODEL_HINT = (
    "download a CTranslate2 Whisper model (e.g. the Hugging Face repository Systran/faster-whisper-small) "
    "where there is internet access, copy its directory (model.bin, config.json, tokenizer.json, vocabulary.*) "
    "to this machine and set REELSCOPE_WHISPER_MODEL to that directory"
)


@functools.cache
def _model(path: str, device: str, compute_type: str, cpu_threads: int) -> Any:
    """One loaded model per pool process, reused for every chunk it recognises."""
    module = importlib.import_module("faster_whisper")
    return module.WhisperModel(
        path, device=device, compute_type=compute_type, cpu_threads=cpu_threads, local_files_only=True
    )


@dataclass(frozen=True)
class WhisperRecognizer:
    """Transcribe one chunk (Whisper's own window is 30 s, our default chunk length) and detect its language."""

    model_path: str
    device: str
    compute_type: str
    cpu_threads: int
    beam_size: int
    language: str | None

    def warm_up(self) -> None:
        _model(self.model_path, self.device, self.compute_type, self.cpu_threads)

    def __call__(self, chunk: AudioChunk) -> ChunkResult:
        np = importlib.import_module("numpy")
        audio = np.frombuffer(chunk.pcm, dtype=np.int16).astype(np.float32) / 32768.0
        model = _model(self.model_path, self.device, self.compute_type, self.cpu_threads)
        # Chunks are independent (they may run in parallel), so no text is carried from one to the next.
        segments, info = model.transcribe(
            audio, language=self.language, beam_size=self.beam_size, condition_on_previous_text=False
        )
        found = tuple(Segment(float(s.start), float(s.end), str(s.text).strip()) for s in segments)
        return ChunkResult(found, str(info.language))


class WhisperEngine:
    """faster-whisper with a local model; the language is detected per chunk unless one is forced."""

    name = "faster-whisper"

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        language: str | None = None,
    ) -> None:
        self.model = model
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.language = language
        self.fallback_language = language or "und"
        self._model_path: str | None = None

    def load(self) -> None:
        """Resolve and load the model once; raise `EngineUnavailable` listing everything that is missing."""
        problems: list[str] = []
        directory = Path(self.model).expanduser()
        is_path = directory.is_dir() or self.model.startswith(("/", ".", "~"))
        if is_path and not directory.is_dir():
            problems.append(f"model directory {self.model} does not exist: {MODEL_HINT}")
        elif is_path and not (directory / "model.bin").is_file():
            problems.append(f"{self.model} has no model.bin, so it is not a CTranslate2 Whisper model: {MODEL_HINT}")
        try:
            importlib.import_module("faster_whisper")
        except ImportError:
            problems.insert(0, f"the faster-whisper package is not installed: {INSTALL_HINT}")
            raise EngineUnavailable("faster-whisper cannot start: " + "; ".join(problems)) from None
        path = str(directory) if is_path else self._cached_model(problems)
        if path is not None and not problems:
            try:
                _model(path, self.device, self.compute_type, self.cpu_threads)
            except (RuntimeError, ValueError, OSError) as exc:
                problems.append(f"the model at {path} could not be loaded ({exc}): {MODEL_HINT}")
            finally:
                _model.cache_clear()  # the worker process only checks; pool processes load their own
        if problems:
            raise EngineUnavailable("faster-whisper cannot start: " + "; ".join(problems))
        self._model_path = path

    def _cached_model(self, problems: list[str]) -> str | None:
        utils = importlib.import_module("faster_whisper.utils")
        try:
            return str(utils.download_model(self.model, local_files_only=True))
        except (OSError, ValueError) as exc:  # huggingface_hub's LocalEntryNotFoundError is an OSError
            problems.append(
                f"whisper model {self.model!r} is not in the local model cache and this worker never downloads "
                f"models ({type(exc).__name__}): {MODEL_HINT}"
            )
            return None

    def recognizer(self) -> WhisperRecognizer:
        if self._model_path is None:
            raise RuntimeError("WhisperEngine.load() must succeed before recognizer()")
        return WhisperRecognizer(
            self._model_path, self.device, self.compute_type, self.cpu_threads, self.beam_size, self.language
        )
