"""Scenarios end to end: the real stack, the service, Locust, the checks and the report.

Slow (a minute or two): they run what ``nox -s scenario -- NAME`` runs, shortened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.catalog import load_scenario
from scenarios.checks.result import Verdict
from scenarios.overrides import Overrides, apply_overrides
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.stack.stack import Stack
from tests.support.isolation import fresh_vhost, rabbitmqctl

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vhost_left_behind")]


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("lab")
    stack = Stack(path, vhost=fresh_vhost())
    stack.up()
    try:
        yield path
    finally:
        stack.down(purge=True)


def run(name: str, lab_dir: Path, runs: Path, **overrides: object) -> RunResult:
    scenario = apply_overrides(load_scenario(name), Overrides(**overrides))  # type: ignore[arg-type]
    return run_scenario(
        scenario, RunOptions(command=f"test {name}", runs_dir=runs, lab_dir=lab_dir)
    )


def test_smoke_writes_a_complete_run_directory_that_passes(lab_dir: Path, tmp_path: Path) -> None:
    result = run("smoke", lab_dir, tmp_path, duration_s=8)
    assert (result.status, result.verdict) == ("completed", Verdict.PASS), result.error
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["verdict"] == "pass"
    assert manifest["machine"]["cores"] >= 1 and manifest["servers"]["mariadb"]
    variant = result.run_dir / "variants" / "default"
    for name in (
        "operations.jsonl",
        "stats.csv",
        "summary.json",
        "metrics.jsonl",
        "resources.csv",
        "checks.json",
        "settings.json",
        "logs/service.log",
    ):
        assert (variant / name).stat().st_size > 0, name
    summary = json.loads((variant / "summary.json").read_text())
    assert summary["holds_granted"] > 0
    assert summary["operations"]["sign_in"]["ok"] > 0
    checks = {
        c["name"]: c["verdict"]
        for c in json.loads((variant / "checks.json").read_text())["results"]
    }
    assert checks["no-double-booking"] == checks["no-hold-past-ttl"] == "pass"
    report = (result.run_dir / "report.html").read_text()
    assert "smoke" in report and "no-double-booking" in report
    vhost = Stack(lab_dir).vhost
    assert rabbitmqctl("-s", "list_queues", "-p", vhost, "name") == ""  # the run's are deleted
    assert manifest["servers"]["rabbitmq"]


def test_naive_oversells_and_every_other_strategy_sells_each_seat_once(
    lab_dir: Path, tmp_path: Path
) -> None:
    result = run("double-booking", lab_dir, tmp_path, duration_s=8)
    assert result.status == "completed", result.error
    oversold = {v.name: v.summary["seats_oversold"] for v in result.variants}
    assert oversold.pop("naive") > 0
    assert set(oversold.values()) == {0}
    assert result.verdict is Verdict.PASS


def test_a_failing_run_stops_every_child_and_says_so(
    lab_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scenarios import runner
    from scenarios.apps import APP_PARTS
    from scenarios.stack import processes
    from scenarios.stack.paths import LabPaths

    seen: dict[str, int] = {}

    async def broken_load(
        workload: object, path: object, out: object, apps: object, *args: object
    ) -> None:
        seen.update(apps.pids())  # type: ignore[attr-defined]
        raise RuntimeError("the load generator fell over")

    monkeypatch.setattr(runner, "drive_load", broken_load)
    result = run("smoke", lab_dir, tmp_path)
    assert result.status == "failed" and "fell over" in (result.error or "")
    assert result.exit_code == 2
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert set(seen) == {"idp", "psp", "service"}
    assert not [pid for pid in seen.values() if processes.is_alive(pid)]
    assert not [p for p in APP_PARTS if LabPaths.at(lab_dir).pid_file(p).exists()]
