"""A Locust worker silent for seconds (busy, not dead) does not end the lab's load.

Locust's master calls a worker missing after about 4 s without its heartbeat and stops
the test once the last one is, exiting 0: on a starved 2-core machine a 120 s load ended
at 25 s so. Here a real master and worker (``--processes 1``) run a user that keeps its
worker busy for 8 s: with Locust's default tolerance (the control) the test is stopped,
with the lab's it is not. Both runs on the same machine, so the control shows the worker
really was silent long enough.

Slow (a quarter of a minute): two short Locust runs, side by side (each worker spins one
core; the masters are idle).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scenarios.load.process import start_locust, stop_locust
from scenarios.load.workload import parse_workload, write_workload
from tests.support.paths import ROOT
from tests.support.processes import free_port

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
    port = str(free_port())  # two runs at once: a master each, its worker told where
    argv = [
        sys.executable, "-m", "locust", "-f", str(BUSY_LOCUSTFILE), "--headless",
        "--processes", "1", "-u", "1", "-r", "1", "-t", f"{RUN_S}s",
        "--master-bind-port", port, "--master-port", port,
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


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Locust's log of the control run (Locust's tolerance) and of the lab's, run at once."""
    runs = {
        "default": {"TICKETLAB_TEST_LOCUST_LIVENESS": LOCUST_DEFAULT_LIVENESS},
        "lab": {},
    }
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {
            name: pool.submit(run_busy_load, tmp_path_factory.mktemp(name), **env)
            for name, env in runs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_a_busy_worker_is_missed_with_locusts_default_tolerance(logs: dict[str, str]) -> None:
    log = logs["default"]
    assert "failed to send heartbeat" in log, log
    assert "The last worker went missing, stopping test." in log, log


def test_a_busy_worker_is_not_missed_with_the_labs_tolerance(logs: dict[str, str]) -> None:
    log = logs["lab"]
    assert f"busy user: spun {BUSY_S} s without yielding" in log, log  # it really was silent
    assert "failed to send heartbeat" not in log, log
    assert "went missing" not in log, log
