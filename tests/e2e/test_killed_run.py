"""A run killed with SIGKILL leaves nothing running: no server, no app, no load generator.

nox answers Ctrl-C with SIGINT, SIGTERM and, 0.5 s after the first, SIGKILL; no cleanup
code survives the last. Here the runner gets SIGKILL while its apps serve and Locust
drives them; what it started must stop on its own (the kernel's parent-death signal, the
reaper), so the next ``down`` finds nothing running and nothing listens on its ports.

Slow (about a minute): a fresh lab stack and the smoke scenario's apps.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from scenarios.stack import LabPaths, processes
from scenarios.stack.net import port_answers
from tests.support.lab_runs import lab_env, loading
from tests.support.processes import pids_whose_argv
from tests.support.waiting import wait_until_sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vhost_left_behind")]
START_WITHIN_S = 240.0
GONE_WITHIN_S = 40.0


def ports_of(paths: LabPaths) -> list[int]:
    state = json.loads(paths.state_file.read_text())
    servers = [p["port"] for p in state["parts"].values() if p.get("owned") and p.get("port")]
    apps = [
        int(r.argv[r.argv.index("--port") + 1])
        for _, r in processes.pid_files(paths)
        if r is not None and "--port" in r.argv
    ]
    return servers + apps


def processes_mentioning(text: str) -> list[int]:
    return pids_whose_argv(lambda argv: any(text.encode() in arg for arg in argv))


def test_a_runner_killed_with_sigkill_leaves_nothing_running(tmp_path: Path) -> None:
    paths, runs = LabPaths.at(tmp_path / "lab"), tmp_path / "runs"
    env = lab_env(paths.root)
    argv = ["ticketlab", "run", "smoke", "--duration", "60", "--runs-dir", str(runs)]
    with (tmp_path / "runner.log").open("wb") as log:
        runner = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_sync(lambda: loading(paths, runs), START_WITHIN_S, "the run to be loading")
        pids = {r.part: r.pid for _, r in processes.pid_files(paths) if r is not None}
        ports = ports_of(paths)
        assert {"primary", "replica", "redis", "app-service", "app-psp", "app-idp"} <= set(pids)
        assert processes_mentioning(str(runs)), "Locust should be running"
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    wait_until_sync(
        lambda: not any(processes.is_alive(pid) for pid in pids.values()),
        GONE_WITHIN_S,
        f"every process the run started to stop: {pids}",
    )
    wait_until_sync(lambda: not processes_mentioning(str(runs)), GONE_WITHIN_S, "Locust to stop")
    assert [port for port in ports if port_answers(port)] == []
    down = subprocess.run(
        ["ticketlab", "down", "--purge"], env=env, capture_output=True, text=True, timeout=120
    )
    assert down.returncode == 0, down.stderr
    assert "nothing was running" in down.stderr
    assert processes_mentioning(str(paths.root)) == []  # the reaper is gone too
