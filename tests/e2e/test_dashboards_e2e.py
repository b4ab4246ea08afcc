"""Every Grafana panel's query, checked against a real InfluxDB fed by a real run.

Grafana cannot be installed here, so this does its part: a short smoke run (with payments
and one provider fault, so every panel has something to show) streams into the InfluxDB of
the end-to-end tier's shared lab (``tests/e2e/conftest.py``); each panel's InfluxQL is
expanded with the dashboard's variables set to that run (``dashboards/influxql.py``) and
executed; every panel must return data, in series named for the measurement it reads and
split by the tags it groups by.
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import pytest

from dashboards.catalog import DASHBOARDS
from dashboards.generate import dashboard_json
from dashboards.influx import DEFAULT_DATABASE, query
from dashboards.influxql import expand
from scenarios.catalog import load_scenario
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.spec import Fault
from scenarios.stack.binaries import find_binary
from scenarios.stack.info import StackInfo

pytestmark = pytest.mark.slow

LOAD_S = 12
FAULT = Fault(
    at_s=4, kind="psp-faults", duration_s=4, params={"confirm_latency": {"kind": "fixed", "ms": 50}}
)


@dataclasses.dataclass(frozen=True)
class Streamed:
    result: RunResult
    influx_url: str
    started_ms: int
    ended_ms: int

    @property
    def variables(self) -> dict[str, list[str]]:
        return {
            "run": [self.result.run_dir.name],
            "variant": [v.name for v in self.result.variants],
        }

    def run_query(self, influxql: str) -> list[dict[str, Any]]:
        expanded = expand(influxql, self.variables, start_ms=self.started_ms, end_ms=self.ended_ms)
        return query(self.influx_url, expanded, DEFAULT_DATABASE)


@pytest.fixture(scope="module")
def streamed(shared_lab: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Streamed:
    if find_binary("influxd") is None:
        pytest.skip("influxd is not installed (Debian package influxdb; .ci/run installs it)")
    assert shared_lab.influx_url, "influxd is installed, so the stack should run it"
    smoke = load_scenario("smoke")
    scenario = dataclasses.replace(
        smoke,
        workload={
            **smoke.workload,
            "pay": True,
            "shape": {**smoke.workload["shape"], "duration_s": LOAD_S},
        },
        nemesis=(FAULT,),
        invariants=(*smoke.invariants, "money-conserved"),
    )
    started = time.time()
    result = run_scenario(
        scenario,
        RunOptions(
            command="test dashboards",
            runs_dir=tmp_path_factory.mktemp("runs"),
            lab_dir=shared_lab.lab_dir,
            report=False,
        ),
    )
    return Streamed(result, shared_lab.influx_url, int(started * 1000), int(time.time() * 1000))


def targets() -> list[tuple[str, str, str, str]]:
    found = []
    for board in DASHBOARDS:
        for panel in dashboard_json(board)["panels"]:
            for target in panel.get("targets", []):
                found.append((board, panel["title"], target["refId"], target["query"]))
    return found


def grouped_tags(influxql: str) -> set[str]:
    groups = influxql.split("GROUP BY", 1)[1].split("fill(")[0]
    return set(re.findall(r'"(\w+)"', groups))


def test_the_run_streamed_into_influxdb_and_counted_what_it_wrote(streamed: Streamed) -> None:
    assert streamed.result.status == "completed", streamed.result.error
    influx = streamed.result.variants[0].summary["influx"]
    assert influx["written"] > 100 and influx["dropped"] == influx["failed"] == 0, influx


@pytest.mark.parametrize(("board", "panel", "ref", "influxql"), targets())
def test_every_panel_query_returns_data_from_the_run(
    streamed: Streamed, board: str, panel: str, ref: str, influxql: str
) -> None:
    series = streamed.run_query(influxql)
    assert series, f"{board} / {panel} / {ref} returned nothing"
    measurement = re.search(r'FROM "([^"]+)"', influxql).group(1)  # type: ignore[union-attr]
    for one in series:
        assert one["name"] == measurement
        assert set(one.get("tags", {})) == grouped_tags(influxql)
        assert one["tags"]["variant"] == "default"
        assert any(value is not None for row in one["values"] for value in row[1:])


@pytest.mark.parametrize(("name", "kind"), [("faults", "fault"), ("phases", "phase")])
def test_every_annotation_query_returns_its_events(
    streamed: Streamed, name: str, kind: str
) -> None:
    annotation = next(
        a for a in dashboard_json("overview")["annotations"]["list"] if a["name"] == name
    )
    (series,) = streamed.run_query(annotation["query"])
    assert series["columns"] == ["time", "title", "text", "kind"]
    titles = [row[1] for row in series["values"]]
    assert {row[3] for row in series["values"]} == {kind}
    if kind == "fault":
        assert titles == ["psp-faults on", "psp-faults off"]
    else:
        assert titles[0] == "load" and titles[-1] == "done"
