"""Scenarios end to end: the real stack, the service, Locust, the checks and the report.

Slow (a minute or two): they run what ``nox -s scenario -- NAME`` runs, shortened.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scenarios.catalog import load_scenario
from scenarios.checks.result import Verdict
from scenarios.history import History
from scenarios.overrides import Overrides, apply_overrides
from scenarios.runner import RunOptions, RunResult, run_scenario
from scenarios.spec import Fault, Scenario
from scenarios.stack.info import StackInfo
from scenarios.stack.stack import Stack
from tests.support.isolation import rabbitmqctl

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vhost_left_behind")]


@pytest.fixture(scope="module")
def lab_dir(shared_lab: StackInfo) -> Path:
    """The end-to-end tier's lab stack (``tests/e2e/conftest.py``), up already."""
    return shared_lab.lab_dir


def run(name: str, lab_dir: Path, runs: Path, **overrides: object) -> RunResult:
    scenario = apply_overrides(load_scenario(name), Overrides(**overrides))  # type: ignore[arg-type]
    return run_scenario(scenario, options(scenario, lab_dir, runs))


def options(scenario: Scenario, lab_dir: Path, runs: Path) -> RunOptions:
    """Without the HTML report: only the smoke run's tests read one (it is rendered there,
    end to end), and rendering it is a subprocess of its own, 5 to 20 s a run."""
    return RunOptions(command=f"test {scenario.name}", runs_dir=runs, lab_dir=lab_dir, report=False)


# Values no run would write by chance: every one must stay out of the run directory.
SECRETS = {
    "jwt_secret": "jwt-" + secrets.token_hex(16),
    "oidc_client_secret": "oidc-" + secrets.token_hex(16),
    "psp_secret_key": "test_sk_" + secrets.token_hex(16),
}
PASSWORD_IN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s\"]*:(?!\*\*\*@)[^/?#\s\"]*@")


@pytest.fixture(scope="module")
def smoke(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """One short smoke run, with secrets of its own and py-spy on its worker, for the tests
    that read its directory."""
    scenario = apply_overrides(load_scenario("smoke"), Overrides(duration_s=8))
    scenario = dataclasses.replace(
        scenario, settings={**scenario.settings, **SECRETS}, profile="py-spy"
    )
    runs = tmp_path_factory.mktemp("runs")
    return run_scenario(scenario, RunOptions(command="test smoke", runs_dir=runs, lab_dir=lab_dir))


def test_smoke_writes_a_complete_run_directory_that_passes(smoke: RunResult, lab_dir: Path) -> None:
    result = smoke
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
        "machine.csv",
        "locust_stats.csv",
        "locust_final.json",
        "checks.json",
        "settings.json",
        "logs/service.log",
        "workers.csv",
        "leaks.json",
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


def test_summary_and_report_agree_with_an_independent_recomputation(smoke: RunResult) -> None:
    """pandas over operations.jsonl, by the definitions of scenarios/summary.py, written anew."""
    from reports import tables
    from reports.rundir import load_run

    variant_dir = smoke.run_dir / "variants" / "default"
    summary = json.loads((variant_dir / "summary.json").read_text())
    lines = (variant_dir / "operations.jsonl").read_text().splitlines()
    ops = pd.DataFrame([r for r in map(json.loads, lines) if r["type"] == "op"])
    ops["scheduled"] = ops["intended_start"].fillna(ops["start"])
    ops["requests"] = ops.get("requests", pd.Series(1, index=ops.index)).fillna(1)
    cut = ops["outcome"].eq("cut-off")
    start, end = ops["scheduled"].min(), ops.loc[~cut, "end"].max()
    warmup_end = start + summary["window"]["warmup_s"]
    assert summary["window"]["load_start"] == pytest.approx(start)
    assert summary["window"]["load_end"] == pytest.approx(end)
    seconds = end - warmup_end
    kept = ops[ops["scheduled"] >= warmup_end]
    kept_cut = kept["outcome"].eq("cut-off")
    done = kept[~kept_cut]
    ok = done["outcome"].eq("ok")
    refused = done["outcome"].eq("fail") & done["status"].eq(409)
    latency = np.sort(((done["end"] - done["scheduled"]) * 1000).to_numpy())
    p95 = latency[int(np.ceil(0.95 * len(latency))) - 1]
    overall = summary["all"]
    assert overall["count"] == len(done) and overall["cut_off"] == int(kept_cut.sum())
    assert overall["errors"] == int((~(ok | refused)).sum())
    assert overall["p95_ms"] == pytest.approx(p95, abs=1e-3)
    assert overall["throughput_per_s"] == pytest.approx((ok | refused).sum() / seconds, rel=1e-3)
    completed = kept["requests"].sum() - kept_cut.sum()
    assert overall["requests_per_s"] == pytest.approx(completed / seconds, rel=1e-3)
    locust = summary["locust"]
    assert locust["source"] == "final", locust
    assert overall["requests_per_s"] == pytest.approx(locust["requests_per_s"], rel=0.01)
    variant = load_run(smoke.run_dir).variants[0]
    table = tables.operation_table(variant)
    mine = table[table["operation"].eq(tables.ALL)].iloc[0]
    assert mine["count"] == overall["count"] and mine["errors"] == overall["errors"]
    assert mine["p95_ms"] == pytest.approx(p95, abs=1e-3)
    routes = {r["route"]: r for r in summary["routes"]}
    assert not [r for r in routes.values() if r["mismatch"]], routes


def test_a_run_directory_holds_no_secret_and_no_password(smoke: RunResult) -> None:
    files = [path for path in smoke.run_dir.rglob("*") if path.is_file()]
    assert any(path.name == "settings.json" for path in files)
    leaks = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaks += [(path.name, name) for name, value in SECRETS.items() if value in text]
        leaks += [(path.name, found) for found in PASSWORD_IN_URL.findall(text)]
    assert not leaks


@pytest.fixture(scope="module")
def double_booking(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run("double-booking", lab_dir, tmp_path_factory.mktemp("runs"), duration_s=6)


def test_naive_oversells_and_every_other_strategy_sells_each_seat_once(
    double_booking: RunResult,
) -> None:
    result = double_booking
    assert result.status == "completed", result.error
    twice = {
        v.name: v.summary["seats_held_twice"] + v.summary["seats_sold_twice"]
        for v in result.variants
    }
    assert twice.pop("naive") > 0
    assert set(twice.values()) == {0}
    assert result.verdict is Verdict.PASS


def test_every_strategy_answers_as_many_requests_per_second_as_locust_counts_within_1_percent(
    double_booking: RunResult,
) -> None:
    """The issue's bar, on the scenario whose naive variant missed it (1.5 %) while the
    figure compared was Locust's second-stale CSV."""
    rates = {
        v.name: (v.summary["requests_per_s"], v.summary["locust"]) for v in double_booking.variants
    }
    assert len(rates) == 6
    for name, (mine, locust) in rates.items():
        assert locust["source"] == "final", name
        assert mine == pytest.approx(locust["requests_per_s"], rel=0.01), name


def test_a_failing_run_stops_every_child_and_says_so(
    lab_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scenarios import variant
    from scenarios.apps import APP_PARTS
    from scenarios.stack import processes
    from scenarios.stack.paths import LabPaths

    seen: dict[str, int] = {}

    async def broken_load(run: variant.VariantRun) -> None:
        seen.update(run.apps.pids())  # type: ignore[union-attr]
        raise RuntimeError("the load generator fell over")

    monkeypatch.setattr(variant, "drive_load", broken_load)
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
    return run_scenario(scenario, options(scenario, lab_dir, runs))


def fault_records(result: RunResult, variant: str = "default") -> list[dict]:
    path = result.run_dir / "variants" / variant / "operations.jsonl"
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["type"] == "fault"]


def result_history(result: RunResult, variant: str = "default") -> History:
    path = result.run_dir / "variants" / variant / "operations.jsonl"
    return History.from_jsonl(path.read_text())


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
    statuses = {op.status for op in result_history(result).operations if op.status}
    assert not {s for s in statuses if s >= 500} - {503}, statuses  # never a 500
    assert checks["slo:all"] == "pass"


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
    assert "the supervisor started" in kill["note"], kill["note"]
    checks = verdicts(result)
    for name in ("no-double-booking", "no-hold-past-ttl", "no-event-lost", "seat-counts-conserved"):
        assert checks[name] == "pass", (name, checks)


def test_replica_lag_reads_a_lagging_replica_and_counts_what_it_showed(
    lab_dir: Path, tmp_path: Path
) -> None:
    delay = Fault(at_s=3, kind="replication-link-delay", duration_s=7, params={"latency_ms": 2000})
    scenario = shortened("replica-lag", 12, delay, variants=("replica",))
    result = run_shortened(scenario, lab_dir, tmp_path)
    assert result.status == "completed", result.error
    (record,) = fault_records(result, "replica")
    assert record["end"] is not None
    summary = result.variants[0].summary
    stale = summary["reads"]
    assert stale["read_sources"].get("replica", 0) > 0 and "primary" not in stale["read_sources"]
    assert stale["replica_age_ms_max"] >= 1500  # the link's 2 s, as the service saw it
    lag = pd.read_csv(result.run_dir / "variants" / "replica" / "lag.csv")
    during = lag[(lag["t"] > record["start"] + 3) & (lag["t"] < record["end"])]
    assert during["heartbeat_lag_s"].max() >= 1.5
    assert set(during["seconds_behind_master"].dropna()) <= {0, 1, 2}  # it barely notices
    assert summary["server_cpu_percent_mean"].keys() >= {"primary", "replica"}
    assert verdicts(result, "replica")["no-double-booking"] == "pass"


def test_py_spy_profiles_the_worker_for_the_load_or_says_why_not(smoke: RunResult) -> None:
    variant = smoke.run_dir / "variants" / "default"
    profiles = json.loads((variant / "profiles" / "profiles.json").read_text())
    assert profiles["profiler"] == "py-spy"
    if not profiles["files"]:
        assert profiles["notes"], "neither a profile nor a reason"
        pytest.skip(f"py-spy may not attach on this machine: {profiles['notes'][0]}")
    names = {f["file"] for f in profiles["files"]}
    assert {n.rsplit(".", 1)[1] for n in names} == {"svg", "json"}
    svg = next(variant / "profiles" / n for n in names if n.endswith(".svg"))
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    top = profiles["top"]
    assert top and all(0 < t["self_share"] <= 1 for t in top)
    assert sum(t["self_s"] for t in top) > 0.5  # at 50 Hz: 25 samples of a busy worker
    report = (smoke.run_dir / "report.html").read_text()
    assert 'id="profiles"' in report and top[0]["function"].split(" ")[0] in report


def test_memray_names_the_journal_line_that_leaks(lab_dir: Path, tmp_path: Path) -> None:
    scenario = load_scenario("memory-leak").only(["defect-on"])
    workload = {**scenario.workload, "warmup_s": 2}
    scenario = apply_overrides(
        dataclasses.replace(scenario, workload=workload, workers=1, profile="memray"),
        Overrides(duration_s=8),
    )
    result = run_scenario(scenario, options(scenario, lab_dir, tmp_path))
    variant = result.run_dir / "variants" / "defect-on"
    profiles = json.loads((variant / "profiles" / "profiles.json").read_text())
    assert profiles["notes"] == [], profiles["notes"]
    names = {f["file"] for f in profiles["files"]}
    assert any(n.endswith("-leaks.html") for n in names)
    assert any(n.endswith("-stats.json") for n in names)
    assert not list(variant.rglob("*.tmp")), "a capture left half-written"
    line = profiles["allocating_line"]
    assert line.startswith("service/http/defects.py:") and "request_journal_middleware" in line
    leaks = json.loads((variant / "leaks.json").read_text())
    assert leaks["allocating_line"] == line
    ours = next(site for site in leaks["allocations"] if site["site"] == line)
    assert ours["bytes"] > 100_000 and ours["allocations"] > 100
    project = [site for site in leaks["allocations"] if site["site"].startswith("service/")]
    assert project[0] == ours  # the biggest of the project's own live allocation sites
