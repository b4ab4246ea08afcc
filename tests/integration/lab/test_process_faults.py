"""Worker faults on real process trees: a supervisor that replaces a dead worker, one that
does not, and pause/resume. Stand-ins for ``python -m service --workers N`` (whose own
restart behaviour the worker-crash scenario shows), so these run without any server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from scenarios.faults import processes
from scenarios.faults.kinds import FAULT_KINDS, FaultContext
from tests.support.waiting import wait_until

RESTARTING = """
import subprocess, time
workers = [subprocess.Popen(["sleep", "300"]) for _ in range(2)]
while True:
    for i, worker in enumerate(workers):
        if worker.poll() is not None:
            workers[i] = subprocess.Popen(["sleep", "300"])
    time.sleep(0.05)
"""
# The service's own supervisor (``spawn`` workers, so multiprocessing runs a resource tracker
# beside them), with a worker that only sleeps.
REAL_SUPERVISOR = """
import time
from service.supervisor import supervise
supervise(time.sleep, (300,), 2, 10)
"""
NOT_RESTARTING = """
import subprocess, time
workers = [subprocess.Popen(["sleep", "300"]) for _ in range(2)]
time.sleep(300)
"""


def supervisor(code: str) -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        yield child.pid
    finally:
        for worker in psutil.Process(child.pid).children(recursive=True):
            worker.kill()
        child.kill()
        child.wait()


@pytest.fixture
def restarting() -> Iterator[int]:
    yield from supervisor(RESTARTING)


@pytest.fixture
def real_supervisor() -> Iterator[int]:
    yield from supervisor(REAL_SUPERVISOR)


@pytest.fixture
def not_restarting() -> Iterator[int]:
    yield from supervisor(NOT_RESTARTING)


async def two_workers(pid: int) -> None:
    async def ready() -> bool:
        return len(processes.workers(pid)) == 2

    await wait_until(ready, within=10, what="two workers")


async def test_a_killed_worker_that_the_supervisor_replaces_is_noted_with_its_successor(
    restarting: int,
) -> None:
    await two_workers(restarting)
    before = processes.workers(restarting)
    applied = await FAULT_KINDS["worker-kill"].on(
        FaultContext("http://127.0.0.1:1", service_pid=restarting), {"worker": 1}
    )
    restart = applied.state
    assert restart.killed == before[1]
    assert restart.replaced_by is not None and restart.replaced_by not in before
    assert "the supervisor started" in (applied.note or "")


async def test_the_services_supervisor_is_seen_to_replace_a_worker_not_its_resource_tracker(
    real_supervisor: int,
) -> None:
    """Its resource tracker is a child too: once it was taken for worker 0, killed, and its
    relaunch reported as the replacement worker."""
    await two_workers(real_supervisor)
    before = processes.workers(real_supervisor)
    children = [c.pid for c in psutil.Process(real_supervisor).children()]
    assert len(children) == 3 and set(before) < set(children)
    for index in (0, 1):
        applied = await FAULT_KINDS["worker-kill"].on(
            FaultContext("http://127.0.0.1:1", service_pid=real_supervisor), {"worker": index}
        )
        restart = applied.state
        assert restart.killed in before
        assert restart.replaced_by in processes.workers(real_supervisor)
        cmdline = " ".join(psutil.Process(restart.replaced_by).cmdline())
        assert "spawn_main" in cmdline
        await two_workers(real_supervisor)
        before = processes.workers(real_supervisor)


async def test_a_killed_worker_nobody_replaces_is_noted_as_such(not_restarting: int) -> None:
    await two_workers(not_restarting)
    applied = await FAULT_KINDS["worker-kill"].on(
        FaultContext("http://127.0.0.1:1", service_pid=not_restarting),
        {"worker": 0, "restart_wait_s": 0.5},
    )
    assert applied.state.replaced_by is None
    assert "not replaced" in (applied.note or "")


async def test_a_paused_worker_is_stopped_until_resumed(not_restarting: int) -> None:
    await two_workers(not_restarting)
    kind = FAULT_KINDS["worker-pause"]
    ctx = FaultContext("http://127.0.0.1:1", service_pid=not_restarting)
    applied = await kind.on(ctx, {"worker": 0})
    worker = psutil.Process(applied.state)

    async def stopped() -> bool:
        return worker.status() == psutil.STATUS_STOPPED

    await wait_until(stopped, within=10, what="the worker to stop")
    await kind.off(ctx, {"worker": 0}, applied.state)

    async def resumed() -> bool:
        return not await stopped()

    await wait_until(resumed, within=10, what="the worker to resume")


async def test_a_worker_fault_without_a_service_is_refused() -> None:
    with pytest.raises(processes.FaultRefused, match="no service pid"):
        await FAULT_KINDS["worker-kill"].on(FaultContext("http://127.0.0.1:1"), {})


async def test_a_supervisor_whose_workers_all_died_is_not_mistaken_for_one(
    not_restarting: int,
) -> None:
    await two_workers(not_restarting)
    for pid in processes.workers(not_restarting):
        psutil.Process(pid).kill()

    async def none_left() -> bool:
        return processes.workers(not_restarting) == []

    await wait_until(none_left, within=10, what="no workers")
    with pytest.raises(processes.FaultRefused, match="no live worker"):
        processes.pick_worker(not_restarting, 0)
