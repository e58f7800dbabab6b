"""What on-call opens (deploy/monitoring/): the alert rules pass promtool's check and fire
on the series they are written for (promtool's own rule tests), every query of the
dashboard and the rules parses and names only metrics the API or a worker exports, and
every alert has its runbook entry in docs/operations.md."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.core import Metric

from backend.core.metrics import PROCESS, AppCollector, QueueCollector
from tests.tools import debian_program

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
OPERATIONS = ROOT / "docs" / "operations.md"
# Prometheus' own series, which it writes for every scrape target.
PROMETHEUS_OWN = {"up"}
# What a PromQL expression may name besides metrics.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}  # fmt: skip
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "info": ("_info",),
    "gauge": ("",),
    "unknown": ("",),
}


def promtool(*args: str | Path) -> str:
    done = subprocess.run(  # noqa: S603
        [debian_program("promtool", "prometheus"), *map(str, args)],
        cwd=MONITORING,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def exported() -> set[str]:
    """Every series name the API's /metrics or a worker's metrics can carry."""
    families: list[Metric] = [
        *PROCESS.collect(),
        *AppCollector(None).describe(),
        *QueueCollector().describe(),
    ]
    return {
        family.name + suffix for family in families for suffix in SUFFIXES[family.type]
    } | PROMETHEUS_OWN


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects: its identifiers, without strings, label
    matchers and groupings, functions (followed by a parenthesis) and keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group().lower() in KEYWORDS:
            continue
        names.add(match.group())
    return names


def test_the_name_reader_finds_metrics_and_nothing_else() -> None:
    assert metric_names(
        'sum by (le, route) (rate(a_bucket{route!="x y"}[5m])) / ignoring(state) b > bool 0'
    ) == {"a_bucket", "b"}
    assert metric_names("time() - max(c) or absent(d_total)") == {"c", "d_total"}


def test_the_alert_rules_pass_promtool_and_fire_as_written() -> None:
    assert "SUCCESS" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def test_every_alert_is_tested_and_has_a_runbook_entry() -> None:
    tests = (MONITORING / "alerts.test.yml").read_text()
    headings = set(re.findall(r"^### (\w+)$", OPERATIONS.read_text(), flags=re.MULTILINE))
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for name in names:
        assert f"alertname: {name}" in tests, name
        assert name in headings, name
    for rule in rules():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/operations.md#{rule['alert'].lower()}", url


def test_every_query_parses(tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 15
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{number}", "expr": query}
                    for number, query in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(recording))
    assert f"{len(queries)} rules found" in promtool("check", "rules", path)


@pytest.mark.parametrize("source", ["dashboard", "alert rules"])
def test_every_query_names_an_exported_metric(source: str) -> None:
    queries = dashboard_queries() if source == "dashboard" else [rule["expr"] for rule in rules()]
    known = exported()
    # The reader sees what the app exports (a check that cannot pass by finding nothing).
    assert {
        "jobboard_http_requests_total",
        "jobboard_queue_tasks",
        "process_cpu_seconds_total",
    } <= known
    for query in queries:
        names = metric_names(query)
        assert names, query
        assert names <= known, (query, names - known)


def test_the_dashboard_is_laid_out() -> None:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = set()
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
