"""The resource hashes once, and still hashes and compares like the SDK's own `Resource`."""

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk.resources import Resource
from reelscope_telemetry import get_logger
from reelscope_telemetry._resource import build_resource
from reelscope_telemetry.testing import capture_telemetry

pytestmark = pytest.mark.unit


def test_cached_hash_is_the_sdks_hash() -> None:
    """Equal to a plain Resource of the same attributes, with the same hash, so dict grouping is unchanged."""
    resource = build_resource("hash-test", "reelscope-telemetry")
    plain = Resource(resource.attributes, resource.schema_url)
    assert resource == plain
    assert hash(resource) == hash(plain)
    assert {plain: "x"}[resource] == "x"


def test_records_of_one_process_are_encoded_under_one_resource() -> None:
    """Exported log records of one process still group under a single OTLP ResourceLogs with our attributes."""
    with capture_telemetry("hash-test") as cap:
        for i in range(3):
            get_logger("hash").info("line", n=i)
        request = encode_logs(list(cap.log_records()))
    (resource_logs,) = request.resource_logs
    assert sum(len(scope.log_records) for scope in resource_logs.scope_logs) == 3
    names = {kv.value.string_value for kv in resource_logs.resource.attributes if kv.key == "service.name"}
    assert names == {"hash-test"}
