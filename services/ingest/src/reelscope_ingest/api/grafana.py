"""Links from a job to Grafana Explore: its trace in Tempo and its logs in Loki, one click from the API.

Explore's URL carries its state as JSON (`panes`, Grafana 10 and later). The datasource UIDs are the fixed ones
provisioned from grafana/provisioning/datasources, so the links work on any Grafana set up from this repo."""

import json
from urllib.parse import urlencode

from reelscope_ingest.api.schemas import GrafanaLinks

TEMPO_UID = "reelscope-tempo"
LOKI_UID = "reelscope-loki"


def _explore(grafana_url: str, datasource: dict[str, str], query: dict[str, str]) -> str:
    pane = {
        "datasource": datasource["uid"],
        "queries": [{"refId": "A", "datasource": datasource, **query}],
        "range": {"from": "now-24h", "to": "now"},
    }
    state = json.dumps({"a": pane}, separators=(",", ":"))
    return f"{grafana_url.rstrip('/')}/explore?{urlencode({'schemaVersion': 1, 'orgId': 1, 'panes': state})}"


def grafana_links(grafana_url: str, trace_id: str) -> GrafanaLinks:
    """The job's trace (TraceQL by trace id) and its log lines (LogQL on the trace_id structured metadata)."""
    trace = _explore(grafana_url, {"type": "tempo", "uid": TEMPO_UID}, {"queryType": "traceql", "query": trace_id})
    logs = _explore(
        grafana_url,
        {"type": "loki", "uid": LOKI_UID},
        {"expr": f'{{service_namespace="reelscope"}} | trace_id="{trace_id}"', "queryType": "range"},
    )
    return GrafanaLinks(trace=trace, logs=logs)
