"""Every service reports its own process metrics (semantic-convention names), observed at each collection, so an
idle service still reports and a leaking one shows. Runs in a fresh interpreter: an instrumentor instruments once
per process."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

COLLECT = """
import json
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from reelscope_telemetry._setup import instrument_process_metrics

reader = InMemoryMetricReader()
instrument_process_metrics(MeterProvider(metric_readers=[reader]))
leak = b"x" * (64 << 20)  # 64 MiB, written: RSS grows by it
first = {m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
print(json.dumps({name: [p.value for p in metric.data.data_points] for name, metric in first.items()}))
"""


def test_process_metrics_are_reported_without_any_activity() -> None:
    done = subprocess.run([sys.executable, "-c", COLLECT], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert {"process.cpu.time", "process.memory.usage", "process.thread.count"} <= values.keys()
    assert values["process.memory.usage"][0] > 64 << 20
    assert not any(name.startswith("system.") for name in values)
