"""``nox -s locust`` (``python -m scenarios.interactive``): Ctrl-C ends the session and leaves
a complete run directory if traffic was sent, none if not, and nothing running.

The stack is up before the sessions (as after ``ticketlab up``), so each session starts
only its apps and Locust. Ctrl-C is SIGINT to the session's process group, as a terminal
sends it. Slow (about a minute).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.stack import Stack
from scenarios.stack.net import ephemeral_port, port_answers
from tests.support.isolation import AMQP_BASE, fresh_vhost
from tests.support.waiting import wait_until_sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vhost_left_behind")]
READY_WITHIN_S = 120.0
STOP_WITHIN_S = 120.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict[str, str]]]:
    lab_dir = tmp_path_factory.mktemp("lab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETLAB_")}
    env["TICKETLAB_LAB_DIR"] = str(lab_dir)
    env["TICKETLAB_AMQP_URL"] = AMQP_BASE.rstrip("/") + "/" + fresh_vhost()
    stack = Stack(lab_dir, environ=env)
    stack.up()
    try:
        yield stack, env
    finally:
        stack.down(purge=True)


def session(env: dict[str, str], runs: Path, web_port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "scenarios.interactive", "--pay", "--web-port", str(web_port)]
    log = (runs.parent / f"session-{web_port}.log").open("wb")
    with log:
        return subprocess.Popen(
            [*argv, "--runs-dir", str(runs)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def ctrl_c(process: subprocess.Popen[bytes]) -> int:
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=STOP_WITHIN_S)


def swarm(web_port: int, users: int) -> None:
    body = urllib.parse.urlencode({"user_count": users, "spawn_rate": users}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/swarm", body, timeout=10) as reply:
        assert json.load(reply)["success"] is True


def nothing_left(stack: Stack, web_port: int) -> None:
    assert [p.name for p in stack.status() if p.name.startswith("app-")] == []
    assert not port_answers(web_port)


def test_a_session_without_traffic_writes_no_run_directory(
    lab: tuple[Stack, dict[str, str]], tmp_path: Path
) -> None:
    stack, env = lab
    runs, port = tmp_path / "runs", ephemeral_port()
    ui = session(env, runs, port)
    wait_until_sync(lambda: port_answers(port), READY_WITHIN_S, "Locust's web UI")
    assert ctrl_c(ui) == 0
    assert not runs.exists() or list(runs.iterdir()) == []
    nothing_left(stack, port)


def test_a_session_with_traffic_becomes_a_run_directory_with_its_report(
    lab: tuple[Stack, dict[str, str]], tmp_path: Path
) -> None:
    stack, env = lab
    runs, port = tmp_path / "runs", ephemeral_port()
    ui = session(env, runs, port)
    wait_until_sync(lambda: port_answers(port), READY_WITHIN_S, "Locust's web UI")
    swarm(port, users=4)
    operations = stack.paths.root / "locust" / str(ui.pid) / "operations.jsonl"
    wait_until_sync(
        lambda: operations.exists() and operations.stat().st_size > 0, 60, "recorded traffic"
    )
    assert ctrl_c(ui) == 0
    (run,) = runs.iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    assert (manifest["status"], manifest["variants"]) == ("completed", ["interactive"])
    assert manifest["servers"]["rabbitmq"] and manifest["machine"]["cores"] >= 1
    variant = run / "variants" / "interactive"
    summary = json.loads((variant / "summary.json").read_text())
    assert summary["operations"]["sign_in"]["count"] > 0
    for name in ("operations.jsonl", "stats.csv", "workload.json", "logs/service.log"):
        assert (variant / name).stat().st_size > 0, name
    assert (run / "report.html").stat().st_size > 0
    nothing_left(stack, port)
    assert not (stack.paths.root / "locust" / str(ui.pid)).exists()
