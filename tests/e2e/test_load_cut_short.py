"""A load Locust ends long before its plan is said, recorded and never passes.

Locust exits 0 when it stops a test itself (its master does when the last worker "went
missing"), and the runner once went on to check and report a 25 s load as a 120 s one.
Here Locust really ends early: the test stops it (SIGTERM, which it handles as a clean
quit) a few seconds into a 60 s smoke load, and the run must say so on the console, in
``summary.json`` and in its checks, and end unknown, not pass.

Slow (about a minute): a fresh lab stack, the smoke scenario's apps, a few seconds of load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scenarios.stack import LabPaths
from tests.support.lab_runs import lab_env, loading
from tests.support.processes import pids_whose_argv
from tests.support.waiting import wait_until_sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vhost_left_behind")]
START_WITHIN_S = 240.0
PLANNED_S = 60
LOAD_FOR_S = 3.0
RUN_ENDS_WITHIN_S = 300.0


def locust_pids(runs: Path) -> list[int]:
    """Locust's processes of this run (not the runner, whose command names ``runs`` too)."""
    return pids_whose_argv(lambda argv: b"locust" in argv and any(bytes(runs) in a for a in argv))


def test_a_load_that_locust_ends_early_is_said_recorded_and_not_passed(tmp_path: Path) -> None:
    paths, runs = LabPaths.at(tmp_path / "lab"), tmp_path / "runs"
    argv = ["ticketlab", "run", "smoke", "--duration", str(PLANNED_S), "--runs-dir", str(runs)]
    env, log = lab_env(paths.root), tmp_path / "runner.log"
    with log.open("wb") as sink:
        runner = subprocess.Popen(argv, env=env, stdout=sink, stderr=sink)
    try:
        wait_until_sync(lambda: loading(paths, runs), START_WITHIN_S, "the run to be loading")
        time.sleep(LOAD_FOR_S)
        pids = locust_pids(runs)
        assert pids, "Locust should be running"
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        runner.wait(timeout=RUN_ENDS_WITHIN_S)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            runner.wait(timeout=120)
        # The run stops its stack; the lab's vhost goes only with a purge.
        down = ["ticketlab", "down", "--purge"]
        subprocess.run(down, env=env, capture_output=True, timeout=120, check=True)
    out = log.read_text(errors="replace")
    assert "load cut short" in out, out
    assert f"of a planned {PLANNED_S} s" in out, out
    assert runner.returncode in (1, 3), out  # fail or unknown: never pass (0)
    (variant,) = (runs).glob("*/variants/*")
    cut = json.loads((variant / "summary.json").read_text())["load_cut_short"]
    assert cut["planned_s"] == PLANNED_S
    assert 0 < cut["ran_s"] < PLANNED_S / 2
    assert cut["reason"]
    checks = {r["name"]: r for r in json.loads((variant / "checks.json").read_text())["results"]}
    assert checks["load-ran-to-plan"]["verdict"] == "unknown"
    assert checks["load-ran-to-plan"]["summary"].startswith("load ended after ")
    assert "Load cut short" in (variant.parent.parent / "report.html").read_text()
