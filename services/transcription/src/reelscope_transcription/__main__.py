"""`python -m reelscope_transcription`: run the transcription worker."""

from reelscope_contracts import StageName
from reelscope_contracts.topology import TRANSCRIPTION
from reelscope_messaging import FailurePolicy, WorkerSpec, run_worker

from reelscope_transcription.config import TranscriptionSettings
from reelscope_transcription.worker import build_handler


def main() -> None:
    settings = TranscriptionSettings()
    spec = WorkerSpec("transcription", TRANSCRIPTION, StageName.TRANSCRIPTION, FailurePolicy.FAIL_JOB)
    run_worker(spec, settings, build_handler(settings))


if __name__ == "__main__":
    main()
