"""`python -m reelscope_ingest`: serve the ingest API with uvicorn; flush telemetry on the way out."""

import uvicorn
from reelscope_telemetry import init_telemetry
from reelscope_telemetry.asgi import FreshContext

from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.main import create_app


def main() -> None:
    settings = IngestSettings()
    telemetry = init_telemetry("ingest")
    try:
        app = create_app(settings, telemetry)
        uvicorn.run(FreshContext(app), host=settings.host, port=settings.port, log_config=None, access_log=False)
    finally:
        telemetry.shutdown(settings.shutdown_timeout_s)


if __name__ == "__main__":
    main()
