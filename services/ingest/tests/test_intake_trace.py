"""The submission's trace shows what the content check costs: an `ffprobe` span under the request's server span,
not an error when the upload is refused (the client's fault), as transcode's own `ffprobe` span is."""

from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from reelscope_contracts import RoutingKey
from reelscope_ingest.core.config import IngestSettings
from reelscope_messaging import Broker
from reelscope_messaging.testing import private_queue
from reelscope_telemetry.testing import CapturedTelemetry

from .conftest import authorize, running_app

pytestmark = pytest.mark.integration


async def test_an_accepted_upload_has_an_ffprobe_span_under_the_request(
    ingest_settings: IngestSettings, telemetry: CapturedTelemetry, media: bytes, broker: Broker
) -> None:
    async with (
        private_queue(broker, "test.intake-trace", (RoutingKey.SUBMITTED,)),  # the job message has somewhere to go
        running_app(ingest_settings, telemetry) as (app, http),
    ):
        await authorize(http, app)
        telemetry.clear()
        response = await http.post("/v1/jobs", files={"file": ("clip.mp4", media, "video/mp4")})
        assert response.status_code == 202, response.text
    spans = telemetry.spans()
    server = next(span for span in spans if span.kind is SpanKind.SERVER)
    probes = [span for span in spans if span.name == "ffprobe"]
    assert len(probes) == 1
    probe = probes[0]
    assert probe.parent is not None
    assert probe.parent.span_id == server.context.span_id
    assert probe.status.status_code is StatusCode.UNSET
    assert probe.end_time is not None
    assert probe.start_time is not None
    assert probe.end_time - probe.start_time > 1_000_000, "ffprobe ran for less than a millisecond: did it run?"


async def test_a_refused_upload_leaves_an_ffprobe_span_that_is_not_an_error(
    ingest_settings: IngestSettings, telemetry: CapturedTelemetry, tmp_path: Path
) -> None:
    async with running_app(ingest_settings, telemetry) as (app, http):
        await authorize(http, app)
        telemetry.clear()
        response = await http.post("/v1/jobs", files={"file": ("notes.mp4", b"just some text\n" * 20, "video/mp4")})
        assert response.status_code == 415, response.text
    probes = [span for span in telemetry.spans() if span.name == "ffprobe"]
    assert len(probes) == 1
    assert probes[0].status.status_code is StatusCode.UNSET
    assert not probes[0].events, "a refusal is not an exception of the span"
