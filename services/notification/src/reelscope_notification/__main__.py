"""`python -m reelscope_notification`: run the notification worker."""

from reelscope_contracts import StageName
from reelscope_contracts.topology import NOTIFICATION
from reelscope_flags import FeatureFlags
from reelscope_messaging import FailurePolicy, StorageLedger, WorkerSpec, run_worker
from reelscope_storage import open_storage

from reelscope_notification.config import NotificationSettings
from reelscope_notification.worker import build_handler, record_give_up


def main() -> None:
    settings = NotificationSettings()
    # A failed notification must not fail the job again (that would notify again): park it instead.
    # One notification per job: the ledger makes a redelivered (or a second, racing) final event a no-op.
    spec = WorkerSpec(
        "notification",
        NOTIFICATION,
        StageName.NOTIFICATION,
        FailurePolicy.PARK,
        give_up=record_give_up,
        ledger=StorageLedger(open_storage(settings)),
    )
    flags = FeatureFlags.start()  # process-global OpenFeature set-up, beside run_worker's telemetry bootstrap
    run_worker(spec, settings, build_handler(settings, flags))


if __name__ == "__main__":
    main()
