"""A Locust worker silent for seconds (busy, not dead) does not end the lab's load.

Locust's master calls a worker missing after about 4 s without its heartbeat and stops
the test once the last one is, exiting 0: on a starved 2-core machine a 120 s load ended
at 25 s so. Here a real master and worker (``--processes 1``) run a user that keeps its
worker busy for 8 s: with Locust's default tolerance (the control) the test is stopped,
with the lab's it is not. Both runs on the same machine, so the control shows the worker
really was silent long enough.

Slow (about half a minute): two short Locust runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from scenarios.load.process import start_locust, stop_locust
from scenarios.load.workload import parse_workload, write_workload
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow
BUSY_LOCUSTFILE = ROOT / "tests" / "support" / "busy_locustfile.py"
BUSY_S = 8
RUN_S = 14
LOCUST_DEFAULT_LIVENESS = "3"


def run_busy_load(tmp_path: Path, **env: str) -> str:
    """Locust's log of a headless ``--processes 1`` run of the busy user."""
    workload = parse_workload(
        {"service_url": "http://127.0.0.1:9", "operations_path": str(tmp_path / "ops.jsonl")}
    )
    path = write_workload(workload, tmp_path / "workload.json")
    argv = [
        sys.executable, "-m", "locust", "-f", str(BUSY_LOCUSTFILE), "--headless",
        "--processes", "1", "-u", "1", "-r", "1", "-t", f"{RUN_S}s",
        "--ticketlab-workload", str(path), "BusyUser",
    ]  # fmt: skip
    log = tmp_path / "locust.log"
    locust = start_locust(
        argv, log, env={**os.environ, "TICKETLAB_TEST_BUSY_S": str(BUSY_S), **env}
    )
    try:
        locust.wait(timeout=RUN_S + 90)
    finally:
        stop_locust(locust, 20)
    return log.read_text(errors="replace")


def test_a_busy_worker_is_missed_with_locusts_default_tolerance(tmp_path: Path) -> None:
    log = run_busy_load(tmp_path, TICKETLAB_TEST_LOCUST_LIVENESS=LOCUST_DEFAULT_LIVENESS)
    assert "failed to send heartbeat" in log, log
    assert "The last worker went missing, stopping test." in log, log


def test_a_busy_worker_is_not_missed_with_the_labs_tolerance(tmp_path: Path) -> None:
    log = run_busy_load(tmp_path)
    assert f"busy user: spun {BUSY_S} s without yielding" in log, log  # it really was silent
    assert "failed to send heartbeat" not in log, log
    assert "went missing" not in log, log
