"""What a run starts dies with the run, however the run dies: the reaper, the kernel's
parent-death signal, and ``up``/``down`` reaping a killed run's leftovers.

Real processes (``sleep``, small Python owners), no servers: the whole-runner version of
the SIGKILL test, with MariaDB and the apps, is in ``tests/e2e/test_killed_run.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from scenarios.stack import LabPaths, MissingBinary, Stack, processes
from scenarios.stack.reaper import owning
from tests.support.processes import pids_whose_argv
from tests.support.waiting import wait_until_sync

GONE_WITHIN_S = 15.0


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[LabPaths]:
    lab = LabPaths.at(tmp_path / "lab")
    lab.make()
    yield lab
    Stack(lab.root).down()  # whatever a failed test left


def start_owner(paths: LabPaths, body: str) -> subprocess.Popen[str]:
    """A Python process that runs ``body`` inside ``owning(paths)``, prints ``ready`` and
    waits to be killed."""
    script = textwrap.dedent(
        """
        import sys, threading, time
        from scenarios.stack import processes
        from scenarios.stack.paths import LabPaths
        from scenarios.stack.reaper import owning

        paths = LabPaths.at(sys.argv[1])
        with owning(paths):
        {body}
            print("ready", flush=True)
            time.sleep(300)
        """
    ).format(body=textwrap.indent(textwrap.dedent(body), "    "))
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(paths.root)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    if owner.stdout.readline().strip() != "ready":
        owner.kill()
        owner.wait(timeout=5)
        owner.stdout.close()
        raise AssertionError("the owner never got ready")
    return owner


def recorded_pids(paths: LabPaths) -> dict[str, int]:
    return {r.part: r.pid for _, r in processes.pid_files(paths) if r is not None}


def gone(pids: Iterable[int]) -> bool:
    pids = list(pids)
    wait_until_sync(
        lambda: not any(processes.is_alive(pid) for pid in pids), GONE_WITHIN_S, f"{pids} gone"
    )
    return True


def reapers_of(paths: LabPaths) -> list[int]:
    """Reaper processes watching this lab (their command line names its directory)."""
    return pids_whose_argv(
        lambda argv: b"scenarios.stack.reaper" in argv and bytes(paths.root) in argv
    )


def test_the_reaper_stops_what_a_runner_killed_with_sigkill_started(paths: LabPaths) -> None:
    # Started from a thread, the second child has no parent-death signal: only the reaper
    # can stop it. Each child leads its own group, as the lab's servers do.
    owner = start_owner(
        paths,
        """
        processes.spawn(paths, "main-child", ["sleep", "300"])
        spawner = threading.Thread(
            target=lambda: processes.spawn(paths, "thread-child", ["sleep", "300"])
        )
        spawner.start()
        spawner.join()
        """,
    )
    children = recorded_pids(paths)
    assert set(children) == {"main-child", "thread-child"}
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=5)
    owner.stdout.close()  # type: ignore[union-attr]
    assert gone(children.values()), "a child outlived its killed owner"
    wait_until_sync(lambda: recorded_pids(paths) == {}, GONE_WITHIN_S, "pid files removed")
    assert gone(reapers_of(paths))


def test_a_child_gets_sigterm_when_its_parent_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "from scenarios.stack.processes import die_with_parent\n"
            "child = subprocess.Popen(['sleep', '300'], preexec_fn=die_with_parent())\n"
            "open(sys.argv[1], 'w').write(str(child.pid))\n"
            "time.sleep(300)\n",
            str(pid_file),
        ]
    )
    try:
        wait_until_sync(lambda: pid_file.exists() and pid_file.read_text() != "", what="the child")
        child = int(pid_file.read_text())
        parent.kill()
        parent.wait(timeout=5)
        assert gone([child])
    finally:
        parent.kill()
        parent.wait(timeout=5)


def dead_owner() -> processes.Owner:
    """An owner that has exited: a pid and a start time no running process has."""
    done = subprocess.Popen(["true"])
    done.wait(timeout=5)
    return processes.Owner(done.pid, -1)


def test_up_stops_what_a_killed_run_left_before_anything_else(paths: LabPaths) -> None:
    leftover = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        processes.write_pid_file(
            paths, processes.PidRecord("app-service", leftover.pid, None, (), dead_owner())
        )
        stack = Stack(paths.root, environ={}, search_path="")
        with pytest.raises(MissingBinary):  # it cannot start anything here, but reaps first
            stack.up()
        assert stack.reaped == ["app-service"]
        assert leftover.wait(timeout=GONE_WITHIN_S) == -signal.SIGTERM
        assert recorded_pids(paths) == {}
    finally:
        leftover.kill()
        leftover.wait(timeout=5)


def test_a_process_whose_owner_lives_is_no_orphan(paths: LabPaths) -> None:
    alive = processes.PidRecord("app-psp", os.getpid(), None, (), processes.Owner.current())
    processes.write_pid_file(paths, alive)
    assert processes.reap_orphans(paths) == []
    assert recorded_pids(paths) == {"app-psp": os.getpid()}
    paths.pid_file("app-psp").unlink()


def test_leaving_the_block_stops_owned_processes_and_keeps_the_kept(paths: LabPaths) -> None:
    with owning(paths, keep={"keeper"}) as owner:
        stopped = processes.spawn(paths, "worker", ["sleep", "300"])
        kept = processes.spawn(paths, "keeper", ["sleep", "300"])
        assert processes.read_pid_file(paths.pid_file("worker")).owner == owner  # type: ignore[union-attr]
    assert gone([stopped.pid])
    assert kept.is_running() and processes.read_pid_file(paths.pid_file("keeper")).owner is None  # type: ignore[union-attr]
    assert processes.stop_part(paths, "keeper")


def test_an_exception_in_the_block_stops_owned_processes_too(paths: LabPaths) -> None:
    record = None
    with pytest.raises(RuntimeError), owning(paths):
        record = processes.spawn(paths, "worker", ["sleep", "300"])
        raise RuntimeError("the run failed")
    assert record is not None and gone([record.pid])
    assert recorded_pids(paths) == {}
