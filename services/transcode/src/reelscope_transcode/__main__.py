"""`python -m reelscope_transcode`: run the transcode worker."""

from reelscope_contracts import StageName
from reelscope_contracts.topology import TRANSCODE
from reelscope_messaging import FailurePolicy, WorkerSpec, run_worker

from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.worker import build_handler


def main() -> None:
    settings = TranscodeSettings()
    spec = WorkerSpec("transcode", TRANSCODE, StageName.TRANSCODE, FailurePolicy.FAIL_JOB)
    run_worker(spec, settings, build_handler(settings))


if __name__ == "__main__":
    main()
