"""Grafana dashboards checked without Grafana: valid JSON with fixed unique uids and titles, datasources that are
provisioned (or datasource variables of the right type), unique panel ids, `$__rate_interval` in every rate, no
id labels, and every PromQL expression parsed by promtool. Each checker is also shown catching a broken dashboard."""

import copy
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from reelscope_cli.dashboards import (
    GRAFANA,
    Dashboard,
    failure_only_expressions,
    load_dashboards,
    panels,
    parse_dashboard,
    promql_targets,
    substitute_variables,
)

pytestmark = pytest.mark.unit

DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yaml"
EXPECTED = {
    "pipeline-overview",
    "job-explorer",
    "service-red",
    "media-processing",
    "api-performance",
    "slos",
    "rabbitmq-telemetry",
}
RATE_CALL = re.compile(r"\b(rate|irate|increase)\s*\(")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
VARIABLE = re.compile(r"^\$\{?(\w+)\}?$")
# Per-job or per-message ids must never become series: they would create one time series per job.
ID_LABEL = re.compile(r"\b(job_id|reelscope_job_id|trace_id|span_id|message_id|messaging_message_id)\b")


def provisioned() -> dict[str, str]:
    """Provisioned datasource uid → type."""
    doc = yaml.safe_load(DATASOURCES.read_text())
    return {ds["uid"]: ds["type"] for ds in doc["datasources"]}


def datasource_variables(dashboard: Dashboard) -> dict[str, str]:
    """Datasource template variables: name → datasource type."""
    return {
        var["name"]: var["query"]
        for var in dashboard.get("templating", {}).get("list", [])
        if var.get("type") == "datasource"
    }


def identity_problems(dashboards: dict[str, Dashboard]) -> list[str]:
    """Missing, non-fixed or duplicated uids and titles across dashboards."""
    problems = []
    for name, dashboard in dashboards.items():
        for key in ("uid", "title"):
            if not isinstance(dashboard.get(key), str) or not dashboard[key]:
                problems.append(f"{name}: no {key}")
        if not str(dashboard.get("uid", "")).startswith("reelscope-"):
            problems.append(f"{name}: uid {dashboard.get('uid')!r} is not a fixed reelscope-* uid")
    for key in ("uid", "title"):
        counts = Counter(d.get(key) for d in dashboards.values())
        problems += [f"{key} {value!r} is used by {n} dashboards" for value, n in counts.items() if n > 1]
    return problems


def datasource_problems(name: str, dashboard: Dashboard, known: dict[str, str]) -> list[str]:
    """Panel and target datasources that are neither provisioned uids nor datasource variables of their type."""
    variables = datasource_variables(dashboard)
    problems = [
        f"{name}: variable ${var} has the default {v['current'].get('value')!r}, not a provisioned {var_type} uid"
        for var, var_type in variables.items()
        for v in dashboard["templating"]["list"]
        if v["name"] == var and known.get(v.get("current", {}).get("value")) != var_type
    ]
    for panel in panels(dashboard):
        if panel.get("type") == "row":
            continue
        refs = [("panel", panel.get("datasource"))]
        refs += [(f"target {t.get('refId')}", t.get("datasource")) for t in panel.get("targets", [])]
        for where, ref in refs:
            label = f"{name} panel {panel.get('id')} ({panel.get('title')}) {where}"
            if not isinstance(ref, dict) or not ref.get("uid") or not ref.get("type"):
                problems.append(f"{label}: datasource {ref!r} has no uid and type")
                continue
            uid, kind = ref["uid"], ref["type"]
            if match := VARIABLE.match(uid):
                if variables.get(match.group(1)) != kind:
                    problems.append(f"{label}: {uid} is not a datasource variable of type {kind}")
            elif known.get(uid) != kind:
                problems.append(f"{label}: uid {uid!r} is not a provisioned {kind} datasource")
    return problems


def panel_id_problems(name: str, dashboard: Dashboard) -> list[str]:
    """Panels without an id, and ids used twice in one dashboard."""
    ids = [panel.get("id") for panel in panels(dashboard)]
    problems = [f"{name}: a panel has no integer id" for i in ids if not isinstance(i, int)]
    return problems + [f"{name}: panel id {i} is used {n} times" for i, n in Counter(ids).items() if n > 1]


def rate_interval_problems(expr: str) -> list[str]:
    """`rate`, `irate` and `increase` calls whose range is anything but `[$__rate_interval]`."""
    code = STRING.sub('""', expr)  # a `[` inside a label matcher's regex is not a range
    problems = []
    for match in RATE_CALL.finditer(code):
        depth, end = 1, match.end()
        while depth and end < len(code):
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        ranges = re.findall(r"\[([^\]]*)\]", code[match.end() : end])
        if not ranges or any(r.strip() != "$__rate_interval" for r in ranges):
            problems.append(f"{match.group(1)}(...) uses {ranges or 'no range'}, not [$__rate_interval]: {expr}")
    return problems


def id_label_problems(expr: str) -> list[str]:
    """Id labels (job, trace, message ids) named in an expression."""
    return [f"id label {m} in {expr}" for m in ID_LABEL.findall(expr)]


def promtool_problems(dashboards: dict[str, Dashboard], tmp_path: Path) -> list[str]:
    """promtool's complaints about the dashboards' PromQL, written as one recording rule per target."""
    groups = [
        {
            "name": dashboard.get("uid") or name,
            "rules": [
                {"record": f"dashboard:{where}", "expr": substitute_variables(expr)}
                for where, expr in promql_targets(dashboard)
            ],
        }
        for name, dashboard in dashboards.items()
    ]
    rules = tmp_path / "dashboards.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    result = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()] or ["promtool failed"]


def all_problems(dashboards: dict[str, Dashboard], tmp_path: Path) -> list[str]:
    """Every checker's problems over a set of dashboards."""
    known = provisioned()
    problems = identity_problems(dashboards)
    for name, dashboard in dashboards.items():
        problems += datasource_problems(name, dashboard, known)
        problems += panel_id_problems(name, dashboard)
        for where, expr in promql_targets(dashboard):
            problems += [f"{name} {where}: {p}" for p in rate_interval_problems(expr) + id_label_problems(expr)]
    return problems + promtool_problems(dashboards, tmp_path)


@pytest.fixture(scope="module")
def dashboards() -> dict[str, Dashboard]:
    return load_dashboards()


def _minimal() -> Dashboard:
    """A small correct dashboard, the base the negative tests break."""
    return {
        "uid": "reelscope-test",
        "title": "Test",
        "templating": {
            "list": [
                {
                    "name": "prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"value": "reelscope-prometheus"},
                }
            ]
        },
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": "Jobs",
                "datasource": {"type": "prometheus", "uid": "${prometheus}"},
                "targets": [
                    {
                        "refId": "A",
                        "datasource": {"type": "prometheus", "uid": "${prometheus}"},
                        "expr": 'sum by (queue) (rate(x_total{queue=~"a\\\\.[b]"}[$__rate_interval]))',
                    }
                ],
            },
            {
                "id": 2,
                "type": "logs",
                "title": "Logs",
                "datasource": {"type": "loki", "uid": "reelscope-loki"},
                "targets": [{"refId": "A", "datasource": {"type": "loki", "uid": "reelscope-loki"}, "expr": "{a=`b`}"}],
            },
        ],
    }


def test_every_dashboard_of_the_issue_exists_with_a_datasource_variable(dashboards: dict[str, Dashboard]) -> None:
    """All seven dashboards exist, each with schemaVersion >= 39 and a datasource variable for Prometheus."""
    assert {name.removesuffix(".json") for name in dashboards} == EXPECTED
    for name, dashboard in dashboards.items():
        assert dashboard.get("schemaVersion", 0) >= 39, name
        assert "prometheus" in datasource_variables(dashboard).values(), name


def test_every_dashboard_passes_every_check(dashboards: dict[str, Dashboard], tmp_path: Path) -> None:
    """Uids and titles, datasources, panel ids, rate ranges, id labels and promtool parsing are all clean."""
    assert all_problems(dashboards, tmp_path) == []
    checked = sum(1 for d in dashboards.values() for _ in promql_targets(d))
    print(f"{checked} PromQL targets in {len(dashboards)} dashboards checked")
    assert checked > 50


def test_the_minimal_dashboard_is_clean(tmp_path: Path) -> None:
    """The base of the negative tests passes every check, so each failure below comes from its one defect."""
    assert all_problems({"test.json": _minimal()}, tmp_path) == []


def test_invalid_json_is_caught() -> None:
    """A truncated file is reported with its name instead of being skipped."""
    with pytest.raises(AssertionError, match=r"broken\.json: not valid JSON"):
        parse_dashboard("broken.json", '{"uid": "reelscope-x", ')


def test_duplicate_uid_and_title_are_caught() -> None:
    """Two dashboards sharing a uid and a title are both reported."""
    problems = identity_problems({"a.json": _minimal(), "b.json": _minimal()})
    assert any("uid 'reelscope-test'" in p for p in problems)
    assert any("title 'Test'" in p for p in problems)


def test_a_missing_uid_is_caught() -> None:
    """A dashboard without a fixed uid would get a random one in Grafana and break links to it."""
    dashboard = _minimal()
    del dashboard["uid"]
    assert any("no uid" in p for p in identity_problems({"a.json": dashboard}))


@pytest.mark.parametrize(
    ("datasource", "expected"),
    [
        ({"type": "prometheus", "uid": "prometheus-old"}, "not a provisioned prometheus datasource"),
        ({"type": "prometheus", "uid": "reelscope-loki"}, "not a provisioned prometheus datasource"),
        ({"type": "prometheus", "uid": "${loki}"}, "not a datasource variable of type prometheus"),
        ({"type": "prometheus", "uid": "$DS_PROMETHEUS"}, "not a datasource variable of type prometheus"),
        ("Prometheus", "has no uid and type"),
    ],
)
def test_a_wrong_target_datasource_is_caught(datasource: Any, expected: str) -> None:
    """Unknown uids, uids of another type, undefined or mistyped variables and bare names are reported."""
    dashboard = _minimal()
    dashboard["templating"]["list"].append(
        {"name": "loki", "type": "datasource", "query": "loki", "current": {"value": "reelscope-loki"}}
    )
    dashboard["panels"][0]["targets"][0]["datasource"] = datasource
    problems = datasource_problems("d.json", dashboard, provisioned())
    assert any(expected in p and "target A" in p for p in problems), problems


def test_a_variable_defaulting_to_an_unknown_uid_is_caught() -> None:
    """A datasource variable whose default is not provisioned would open the dashboard on nothing."""
    dashboard = _minimal()
    dashboard["templating"]["list"][0]["current"]["value"] = "reelscope-tempo"
    assert any("not a provisioned prometheus uid" in p for p in datasource_problems("d.json", dashboard, provisioned()))


def test_duplicate_panel_ids_are_caught_also_inside_rows() -> None:
    """A panel nested in a collapsed row that reuses an id is reported."""
    dashboard = _minimal()
    nested = copy.deepcopy(dashboard["panels"][1])
    dashboard["panels"].append({"id": 3, "type": "row", "title": "Row", "collapsed": True, "panels": [nested]})
    assert panel_id_problems("d.json", dashboard) == ["d.json: panel id 2 is used 2 times"]


@pytest.mark.parametrize(
    "expr",
    [
        "rate(x_total[5m])",
        "sum(irate(x_total[$__interval]))",
        "increase(x_total[$__range])",
        "sum(rate(x_total))",
        "rate(x_total[$__rate_interval]) / rate(y_total[1m])",
    ],
)
def test_a_rate_without_rate_interval_is_caught(expr: str) -> None:
    """Fixed ranges, other Grafana intervals and missing ranges are reported, one problem per bad call."""
    assert rate_interval_problems(expr)


def test_brackets_inside_label_regexes_are_not_ranges() -> None:
    """A character class in a label matcher does not count as a range."""
    assert rate_interval_problems('rate(x_total{q=~"a[.]b"}[$__rate_interval])') == []


def test_an_id_label_is_caught() -> None:
    """A query grouping by job id (one series per job) is reported."""
    assert id_label_problems("sum by (reelscope_job_id) (rate(x_total[$__rate_interval]))")


def test_promql_syntax_errors_are_caught_by_promtool(tmp_path: Path) -> None:
    """promtool rejects an unbalanced expression in a dashboard."""
    dashboard = _minimal()
    dashboard["panels"][0]["targets"][0]["expr"] = "sum(rate(x_total[$__rate_interval])"
    problems = promtool_problems({"d.json": dashboard}, tmp_path)
    assert any("could not parse expression" in p for p in problems), problems


def test_grafana_variables_are_substituted_before_parsing() -> None:
    """Builtin intervals become durations and other variables become plain values PromQL accepts."""
    assert substitute_variables('rate(x{a="$job_id", b="${svc}"}[$__rate_interval])') == 'rate(x{a="x", b="x"}[1m])'


def stale_listing_problems(listed: list[str], dashboards: dict[str, Dashboard]) -> list[str]:
    """Listed expressions that no dashboard target uses any more."""
    used = {expr.strip() for dashboard in dashboards.values() for _, expr in promql_targets(dashboard)}
    return [f"listed in grafana/README.md but on no dashboard: {expr}" for expr in listed if expr not in used]


def test_failure_only_expressions_listed_in_the_readme_are_dashboard_targets(dashboards: dict[str, Dashboard]) -> None:
    """Each expression the README lists as failure-only is verbatim a target of some dashboard."""
    listed = failure_only_expressions()
    assert len(listed) >= 5
    assert stale_listing_problems(listed, dashboards) == []


def test_a_stale_failure_only_listing_is_caught(dashboards: dict[str, Dashboard]) -> None:
    """An expression that was edited on the dashboard but not in the README is reported."""
    assert stale_listing_problems(["sum(rate(gone_total[$__rate_interval]))"], dashboards)
