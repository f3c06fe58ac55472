"""`python -m reelscope_transcode`: run the transcode worker."""

from reelscope_contracts import JobKeys, StageName
from reelscope_contracts.topology import TRANSCODE
from reelscope_flags import FeatureFlags
from reelscope_messaging import FailurePolicy, StorageLedger, WorkerSpec, run_worker
from reelscope_storage import open_storage

from reelscope_transcode.config import TranscodeSettings
from reelscope_transcode.worker import build_handler


def main() -> None:
    settings = TranscodeSettings()
    storage = open_storage(settings)

    async def cancel_marker_exists(job_id: str) -> bool:
        return await storage.exists(JobKeys(job_id).cancel_marker)

    spec = WorkerSpec(
        "transcode",
        TRANSCODE,
        StageName.TRANSCODE,
        FailurePolicy.FAIL_JOB,
        cancellable=True,
        cancel_marker_exists=cancel_marker_exists,
        ledger=StorageLedger(storage),
    )
    flags = FeatureFlags.start()  # process-global OpenFeature set-up, beside run_worker's telemetry bootstrap
    run_worker(spec, settings, build_handler(settings, storage, flags))


if __name__ == "__main__":
    main()
