"""`python -m reelscope_ingest`: serve the ingest API with uvicorn until SIGTERM/SIGINT, stop gracefully
(see `shutdown`), flush telemetry on the way out and exit 0."""

import math
import sys

import uvicorn
from reelscope_flags import FeatureFlags
from reelscope_telemetry import get_logger, init_telemetry
from reelscope_telemetry.asgi import FreshContext

from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.main import create_app
from reelscope_ingest.shutdown import GracefulServer, ShutdownState

STARTUP_FAILURE = 3  # uvicorn.run's exit code when the app did not start

log = get_logger(__name__)


def main() -> None:
    settings = IngestSettings()
    telemetry = init_telemetry("ingest")
    flags = FeatureFlags.start()  # process-global OpenFeature set-up, right after the telemetry bootstrap
    shutdown = ShutdownState()
    started = False
    try:
        app = create_app(settings, telemetry, shutdown, flags=flags)
        config = uvicorn.Config(
            FreshContext(app),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        )
        server = GracefulServer(config, shutdown)
        server.run()
        started = server.started
    finally:
        log.info("flushing telemetry", timeout_s=settings.shutdown_timeout_s)
        telemetry.shutdown(settings.shutdown_timeout_s)
    if not started:
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()
