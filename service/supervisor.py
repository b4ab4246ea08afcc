"""The supervisor of N worker processes sharing one port: restart the dead, stop them all.

A worker that dies (``kill -9``, an out-of-memory kill, a crash) is restarted after a short
backoff while the others keep serving: with ``SO_REUSEPORT`` the kernel stops routing new
connections to a closed listening socket, so only the connections that were queued on the
dead worker are lost. A worker that keeps dying is a broken deployment, not bad luck: past
``TICKETLAB_WORKER_RESTARTS_PER_MINUTE`` deaths in a minute the supervisor gives up, says
so, stops the rest and exits non-zero, so whoever runs it notices.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from prometheus_client import multiprocess

STOP_TIMEOUT_S = 10.0
WINDOW_S = 60.0
FIRST_BACKOFF_S = 0.25
# Short, so a crash loop reaches the limit within the minute instead of hiding under it.
MAX_BACKOFF_S = 2.0
POLL_S = 0.5
RESTART_LIMIT_VARIABLE = "TICKETLAB_WORKER_RESTARTS_PER_MINUTE"
log = logging.getLogger("service")


@dataclass
class RestartBudget:
    """Deaths in the last minute decide both the backoff and when to give up.

    The backoff doubles with each recent death (0.25 s, 0.5 s, 1 s, then 2 s), so one
    ``kill -9`` costs a quarter of a second while a crash loop does not spin.
    """

    limit: int
    window_s: float = WINDOW_S
    deaths: collections.deque[float] = field(default_factory=collections.deque)

    def death(self, now: float) -> float | None:
        """Record a death at ``now``: the delay before its restart, or None to give up."""
        while self.deaths and self.deaths[0] <= now - self.window_s:
            self.deaths.popleft()
        self.deaths.append(now)
        recent = len(self.deaths)
        if recent > self.limit:
            return None
        return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (recent - 1))


def describe_exit(exitcode: int | None) -> str:
    """Why a worker ended, for the log and the restart metric's label."""
    if exitcode is None:
        return "unknown"
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit {exitcode}"


@dataclass
class Slot:
    """One worker's place: its process now, and when to start the next one if it died."""

    name: str
    process: BaseProcess | None = None
    restart_at: float | None = None


def supervise(
    target: Callable[..., None],
    args: tuple[object, ...],
    workers: int,
    restart_limit: int,
    on_restart: Callable[[str], None] = lambda cause: None,
) -> int:
    """Run ``workers`` copies of ``target(*args)`` until told to stop (0) or giving up (1)."""
    context = multiprocessing.get_context("spawn")
    budget = RestartBudget(restart_limit)
    slots = [Slot(f"worker-{i}") for i in range(workers)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    def start(slot: Slot) -> BaseProcess:
        process = context.Process(target=target, args=args, name=slot.name)
        process.start()
        slot.process, slot.restart_at = process, None
        return process

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    exit_code = 0
    try:
        for slot in slots:
            start(slot)
        while not stopping:
            now = time.monotonic()
            for slot in slots:
                if slot.restart_at is not None and slot.restart_at <= now:
                    log.info("%s restarted as pid %s", slot.name, start(slot).pid)
            alive = [s.process for s in slots if s.restart_at is None and s.process is not None]
            pending = [s.restart_at for s in slots if s.restart_at is not None]
            timeout = min([POLL_S, *(max(0.0, at - now) for at in pending)])
            multiprocessing.connection.wait([p.sentinel for p in alive], timeout)
            if stopping:  # a worker told to stop with us is not a death
                break
            for slot in slots:
                process = slot.process
                if slot.restart_at is not None or process is None or process.is_alive():
                    continue
                cause = describe_exit(process.exitcode)
                _forget(process)
                delay = budget.death(time.monotonic())
                if delay is None:
                    log.error(
                        "%s (pid %s) died (%s): %d worker deaths within %.0f s is more than "
                        "%s=%d; giving up, stopping every worker",
                        slot.name,
                        process.pid,
                        cause,
                        len(budget.deaths),
                        budget.window_s,
                        RESTART_LIMIT_VARIABLE,
                        budget.limit,
                    )
                    exit_code = 1
                    stopping = True
                    break
                log.error(
                    "%s (pid %s) died (%s); restarting it in %.2f s",
                    slot.name,
                    process.pid,
                    cause,
                    delay,
                )
                on_restart(cause)
                slot.restart_at = time.monotonic() + delay
    finally:
        last = [slot.process for slot in slots if slot.process is not None]
        stop_workers(last)
        for process in last:
            _forget(process)
    return exit_code


def _forget(process: BaseProcess) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics (idempotent)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if process.pid is not None and directory:
        multiprocess.mark_process_dead(process.pid, directory)


def stop_workers(children: list[BaseProcess]) -> None:
    """Signal every worker, then wait for all against one deadline, then kill the rest.

    Workers drain in parallel, so stopping N of them takes at most ``STOP_TIMEOUT_S``, not
    N times that: whoever stops the supervisor (``ticketlab down`` waits 20 s before its
    SIGKILL) can count on the supervisor being done first.
    """
    for child in children:
        if child.is_alive():
            child.terminate()  # SIGTERM; a worker that already exited is skipped
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        if child.pid is not None:
            child.join(max(0.0, deadline - time.monotonic()))
    for child in children:
        if child.is_alive():
            log.error("worker %s did not stop within %.0fs; killing it", child.name, STOP_TIMEOUT_S)
            child.kill()
    for child in children:
        if child.pid is not None:
            child.join()
