"""Reading Grafana dashboards the way Grafana would: every panel (rows included), every Prometheus target, and
the expressions grafana/README.md lists as returning data only under failure. Shared by the dashboard checks
and the end-to-end test that runs every panel's query against the real Prometheus."""

import json
import re
from collections.abc import Iterator
from typing import Any

from reelscope_cli.stack.settings import repo_root

GRAFANA = repo_root() / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
GRAFANA_BUILTINS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}

Dashboard = dict[str, Any]


def load_dashboards() -> dict[str, Dashboard]:
    """Every dashboard file by name; a file that is not valid JSON fails here with its name."""
    return {path.name: parse_dashboard(path.name, path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def parse_dashboard(name: str, text: str) -> Dashboard:
    """A dashboard JSON object, or an AssertionError naming the file and the parse error."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise AssertionError(f"{name}: not valid JSON: {error}") from error
    assert isinstance(doc, dict), f"{name}: not a JSON object"
    return doc


def panels(dashboard: Dashboard) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def promql_targets(dashboard: Dashboard) -> Iterator[tuple[str, str]]:
    """(panel id and refId, expression) of every Prometheus target."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            datasource = target.get("datasource") or panel.get("datasource") or {}
            if datasource.get("type") == "prometheus":
                yield f"panel_{panel.get('id')}_{target.get('refId')}", target.get("expr", "")


def substitute_variables(expr: str) -> str:
    """The expression with Grafana's variables replaced by values PromQL accepts."""
    for variable, value in GRAFANA_BUILTINS.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\{?\w+\}?", "x", expr)


def failure_only_expressions() -> list[str]:
    """The PromQL listed in grafana/README.md as returning data only under failure."""
    readme = (GRAFANA / "README.md").read_text()
    section = readme.split("### Queries that return data only under failure", 1)[1]
    block = section.split("```promql\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]
