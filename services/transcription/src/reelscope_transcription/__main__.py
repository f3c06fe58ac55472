"""`python -m reelscope_transcription`: run the transcription worker."""

from pydantic import ValidationError
from reelscope_contracts import JobKeys, StageName
from reelscope_contracts.topology import TRANSCRIPTION
from reelscope_flags import FeatureFlags
from reelscope_messaging import FailurePolicy, StorageLedger, WorkerSpec, run_worker
from reelscope_storage import open_storage

from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.engines import build_engine
from reelscope_transcription.exceptions import EngineUnavailable
from reelscope_transcription.pool import RecognizerPool
from reelscope_transcription.worker import build_handler


def main() -> None:
    """Check settings and engine before anything else: a worker that cannot transcribe must not start."""
    try:
        settings = TranscriptionSettings()
    except ValidationError as exc:
        raise SystemExit(f"transcription worker cannot start: invalid settings:\n{exc}") from None
    engine = build_engine(settings)
    try:
        engine.load()
        pool = RecognizerPool(engine.recognizer(), settings.asr_workers)
        pool.warm()
    except EngineUnavailable as exc:
        raise SystemExit(f"transcription worker cannot start: {exc}") from None
    storage = open_storage(settings)
    spec = WorkerSpec(
        "transcription",
        TRANSCRIPTION,
        StageName.TRANSCRIPTION,
        FailurePolicy.FAIL_JOB,
        cancellable=True,
        cancel_marker_exists=lambda job_id: storage.exists(JobKeys(job_id).cancel_marker),
        ledger=StorageLedger(storage),
    )
    flags = FeatureFlags.start()  # process-global OpenFeature set-up, beside run_worker's telemetry bootstrap
    try:
        run_worker(spec, settings, build_handler(settings, storage, engine, pool, flags))
    finally:
        pool.close()


if __name__ == "__main__":
    main()
