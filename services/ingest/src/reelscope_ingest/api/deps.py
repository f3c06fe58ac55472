"""Dependencies the routes receive, as `Annotated` aliases so signatures read like prose."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from reelscope_flags import FeatureFlags
from reelscope_messaging import Broker
from reelscope_storage import Storage
from reelscope_telemetry import Telemetry

from reelscope_ingest.core.config import IngestSettings
from reelscope_ingest.core.keys import KeyStore
from reelscope_ingest.core.store import JobStore


@dataclass(frozen=True)
class AppState:
    """Resources made at start-up and shared by all requests."""

    settings: IngestSettings
    store: JobStore
    keys: KeyStore
    broker: Broker
    storage: Storage
    telemetry: Telemetry
    flags: FeatureFlags = field(default_factory=FeatureFlags)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.reelscope
    return state


StateDep = Annotated[AppState, Depends(get_state)]
