"""Every LogQL and TraceQL query in grafana/ (dashboards and datasource links) parses with Grafana's own
grammars (@grafana/lezer-logql, @grafana/lezer-traceql from npm, installed by make setup), so a typo is caught
here although Loki and Tempo cannot run here. Grafana's variables are filled in first."""

import json
import re
import subprocess
from typing import Any

import pytest
import yaml
from reelscope_cli.dashboards import GRAFANA, load_dashboards, panels

pytestmark = pytest.mark.unit

GRAMMARS = GRAFANA.parent / "tests" / "configs" / "grammars"
LANGUAGES = {"loki": "logql", "tempo": "traceql"}
# Values for Grafana's variables, as Grafana would substitute them.
VARIABLES = {
    "${__tags}": 'service_name="transcode"',
    "${__trace.traceId}": "4bf92f3577b34da6a3ce929d0e0e4736",
    "${__span.spanId}": "00f067aa0ba902b7",
    "$job_id": "0a1b2c3d",
}


def _fill(query: str) -> str:
    for variable, value in VARIABLES.items():
        query = query.replace(variable, value)
    assert not re.search(r"\$\{?\w", query), f"a Grafana variable this test does not know: {query}"
    return query


def grafana_queries() -> list[tuple[str, str, str]]:
    """(where, language, query) for every Loki and Tempo query of the dashboards and datasource links."""
    found: list[tuple[str, str, str]] = []
    for name, dashboard in load_dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                datasource: dict[str, Any] = target.get("datasource") or panel.get("datasource") or {}
                language = LANGUAGES.get(str(datasource.get("type")))
                query = target.get("expr") or target.get("query")
                if language and query:
                    found.append((f"{name} panel {panel.get('id')}", language, _fill(query)))
    provisioning = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    for source in provisioning["datasources"]:
        logs = source.get("jsonData", {}).get("tracesToLogsV2")
        if logs and logs.get("customQuery"):
            # `$$` is how the provisioning file escapes a literal `$` from env-var expansion.
            found.append((f"{source['uid']} tracesToLogsV2", "logql", _fill(logs["query"].replace("$$", "$"))))
    return found


def parse_errors(queries: list[tuple[str, str]]) -> list[list[int]]:
    """The grammar's error offsets for each (language, query); [] means it parses."""
    result = subprocess.run(
        ["node", str(GRAMMARS / "parse.mjs")],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=False,
        cwd=GRAMMARS,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    errors: list[list[int]] = json.loads(result.stdout)
    return errors


def test_every_logql_and_traceql_query_parses() -> None:
    """No Loki or Tempo query in grafana/ has a syntax error by Grafana's own grammars."""
    queries = grafana_queries()
    assert {language for _, language, _ in queries} == {"logql", "traceql"}
    errors = parse_errors([(language, query) for _, language, query in queries])
    broken = [f"{where}: {query} (error at {at})" for (where, _, query), at in zip(queries, errors, strict=True) if at]
    assert broken == []


def test_a_broken_query_is_caught() -> None:
    """The same check flags typos in both languages (and passes their corrected forms)."""
    errors = parse_errors(
        [
            ("logql", '{service_name="transcode" | job_id="x"'),
            ("traceql", '{ span."reelscope.job.id" = }'),
            ("logql", '{service_name="transcode"} | job_id="x"'),
            ("traceql", '{ span."reelscope.job.id" = "x" }'),
        ]
    )
    assert [bool(e) for e in errors] == [True, True, False, False]
