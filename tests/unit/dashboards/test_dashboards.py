"""The dashboards: generated, not edited; every query well formed for Grafana and InfluxDB;
and ``dashboards/`` independent of the rest of the lab."""

from __future__ import annotations

import re

import pytest

from dashboards import schema
from dashboards.catalog import DASHBOARDS
from dashboards.generate import dashboard_json, stale
from dashboards.influxql import expand, regex_escape
from tests.support.imports import lab_imports
from tests.support.paths import ROOT

LAB_PACKAGES = ("scenarios", "service", "providers", "profiling", "reports", "tests")


def queries(name: str) -> list[tuple[str, str]]:
    board = dashboard_json(name)
    found = [
        (panel["title"], target["query"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]
    return found + [(a["name"], a["query"]) for a in board["annotations"]["list"]]


ALL_QUERIES = [(board, title, q) for board in DASHBOARDS for title, q in queries(board)]


def test_the_committed_dashboards_are_what_the_code_generates() -> None:
    assert stale() == [], "run `nox -s dashboards` and commit dashboards/grafana/"


def test_dashboards_import_nothing_of_the_lab() -> None:
    assert lab_imports(ROOT / "dashboards", LAB_PACKAGES) == []


@pytest.mark.parametrize(("board", "title", "query"), ALL_QUERIES)
def test_every_query_is_bounded_by_time_run_and_variant(board: str, title: str, query: str) -> None:
    assert "WHERE $timeFilter AND" in query
    assert '"run" =~ /^$run$/' in query and '"variant" =~ /^$variant$/' in query


def test_every_query_reads_a_measurement_the_schema_names() -> None:
    named = {
        value for key, value in vars(schema).items() if key.isupper() and isinstance(value, str)
    }
    read = {re.search(r'FROM "([^"]+)"', q).group(1) for _, _, q in ALL_QUERIES}  # type: ignore[union-attr]
    assert read <= named, read - named


def test_the_four_dashboards_have_distinct_uids_and_ids_per_panel() -> None:
    boards = [dashboard_json(name) for name in DASHBOARDS]
    assert len({b["uid"] for b in boards}) == 4
    for board in boards:
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))


def test_expansion_replaces_time_interval_and_variables_as_grafana_does() -> None:
    query = (
        'SELECT sum("ok") * 1000 / $__interval_ms FROM "load" WHERE $timeFilter AND '
        '"run" =~ /^$run$/ AND "variant" =~ /^$variant$/ GROUP BY time($__interval)'
    )
    expanded = expand(
        query, {"run": ["r.1"], "variant": ["a", "b/c"]}, start_ms=1000, end_ms=2000, interval="5s"
    )
    assert expanded == (
        'SELECT sum("ok") * 1000 / 5000 FROM "load" WHERE time >= 1000ms and time <= 2000ms '
        'AND "run" =~ /^r\\.1$/ AND "variant" =~ /^(a|b\\/c)$/ GROUP BY time(5s)'
    )


def test_expansion_refuses_a_variable_without_a_value() -> None:
    with pytest.raises(KeyError, match=r"\$run"):
        expand('WHERE "run" =~ /^$run$/', {}, start_ms=0, end_ms=1)


def test_regex_escaping_covers_every_special_character() -> None:
    assert regex_escape("a.b*c(d)|e/f") == r"a\.b\*c\(d\)\|e\/f"
