"""Scenarios end to end: the real stack, the service, Locust, the checks and the report.

Slow (a minute or two): they run what ``nox -s scenario -- NAME`` runs, shortened.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.catalog import load_scenario
from scenarios.checks.result import Verdict
from scenarios.overrides import Overrides, apply_overrides
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.spec import Fault, Scenario
from scenarios.stack.stack import Stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("lab")
    stack = Stack(path)
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


# -- the fault scenarios, shortened: faults compressed into a short load ---------------------


def shortened(
    name: str, duration_s: float, *faults: Fault, variants: tuple[str, ...] = ()
) -> Scenario:
    scenario = apply_overrides(load_scenario(name), Overrides(duration_s=duration_s))
    if variants:
        scenario = scenario.only(list(variants))
    return dataclasses.replace(scenario, nemesis=faults, quiesce_timeout_s=30).validate()


def run_shortened(scenario: Scenario, lab_dir: Path, runs: Path) -> RunResult:
    return run_scenario(
        scenario, RunOptions(command=f"test {scenario.name}", runs_dir=runs, lab_dir=lab_dir)
    )


def fault_records(result: RunResult, variant: str = "default") -> list[dict]:
    path = result.run_dir / "variants" / variant / "operations.jsonl"
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["type"] == "fault"]


def verdicts(result: RunResult, variant: str = "default") -> dict[str, str]:
    path = result.run_dir / "variants" / variant / "checks.json"
    return {c["name"]: c["verdict"] for c in json.loads(path.read_text())["results"]}


def test_db_network_latency_shows_in_p99_and_sells_no_seat_twice(
    lab_dir: Path, tmp_path: Path
) -> None:
    latency = {"proxy": "primary", "type": "latency", "attributes": {"latency": 150}}
    reset = {"proxy": "primary", "type": "reset_peer", "toxicity": 0.34}
    scenario = shortened(
        "db-network",
        12,
        Fault(at_s=3, kind="toxic", duration_s=4, params=latency),
        Fault(at_s=8, kind="toxic", duration_s=3, params=reset),
    )
    result = run_shortened(scenario, lab_dir, tmp_path)
    assert result.status == "completed", result.error
    assert [(f["kind"], f["end"] is not None) for f in fault_records(result)] == [
        ("toxic", True),
        ("toxic", True),
    ]
    assert result.variants[0].summary["operations"]["zones"]["p99_ms"] >= 150
    checks = verdicts(result)
    assert checks["no-double-booking"] == checks["money-conserved"] == "pass"
    # slo:all (no 500, no hang) waits for lost connections to become 503s (issue 8's work).


def test_broker_outage_loses_nothing(lab_dir: Path, tmp_path: Path) -> None:
    down = Fault(at_s=3, kind="proxy-down", duration_s=6, params={"proxy": "rabbitmq"})
    result = run_shortened(shortened("broker-outage", 12, down), lab_dir, tmp_path)
    assert result.status == "completed", result.error
    assert fault_records(result)[0]["note"] == "rabbitmq connections dropped and refused"
    checks = verdicts(result)
    invariants = [name for name in checks if not name.startswith("slo:")]
    assert {checks[name] for name in invariants} == {"pass"}, checks
    # slo:hold counts requests cut off at the load's end as errors until issue 9 lands;
    # in a 12 s run those few are enough to breach it.


def test_redis_outage_stops_and_restarts_the_labs_redis_without_an_oversell(
    lab_dir: Path, tmp_path: Path
) -> None:
    stop = Fault(at_s=3, kind="server-stop", duration_s=4, params={"server": "redis"})
    scenario = shortened("redis-outage", 12, stop, variants=("redis-gate",))
    result = run_shortened(scenario, lab_dir, tmp_path)
    assert result.status == "completed", result.error
    (record,) = fault_records(result, "redis-gate")
    assert "redis back on port" in record["note"]
    assert verdicts(result, "redis-gate")["no-double-booking"] == "pass"


def test_worker_crash_records_what_became_of_each_worker(lab_dir: Path, tmp_path: Path) -> None:
    scenario = shortened(
        "worker-crash",
        12,
        Fault(at_s=3, kind="worker-pause", duration_s=2, params={"worker": 0}),
        Fault(at_s=7, kind="worker-kill", params={"worker": 1, "restart_wait_s": 3}),
    )
    result = run_shortened(scenario, lab_dir, tmp_path)
    assert result.status == "completed", result.error
    pause, kill = fault_records(result)
    assert "paused (SIGSTOP)" in pause["note"] and "resumed (SIGCONT)" in pause["note"]
    assert kill["note"].startswith("worker ") and "killed" in kill["note"]
    assert verdicts(result)["no-double-booking"] == "pass"
    # The rest of the verdict waits for a supervisor that replaces dead workers (issue 7).
