"""Process and server faults, on the lab's own processes only.

Every target is found through the lab's records — the service's pid from its pid file,
servers from the lab's state file — and a server the lab did not start (a given URL, the
machine's RabbitMQ) is refused, never stopped: other people's servers are not ours to kill.
As a second guard, nothing listening on the machine's well-known ports is ever touched.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil
import pymysql

from scenarios.stack import mariadb, processes, redis
from scenarios.stack.binaries import require_binary
from scenarios.stack.paths import LabPaths
from scenarios.stack.state import PartRecord, load_state, save_state

MACHINE_PORTS = frozenset({3306, 6379, 5672, 15672})
RESTART_WAIT_S = 30.0


class FaultRefused(RuntimeError):
    """The fault would touch something that is not the lab's own; nothing was done."""


# -- service workers --------------------------------------------------------------------------


def workers(service_pid: int, supervised: bool = True) -> list[int]:
    """The service's worker processes: the supervisor's live children, or — when it serves
    alone (``--workers 1``, ``supervised`` false) — the process itself. A supervisor left
    without children has no workers; it is never mistaken for one."""
    if not _running(service_pid):
        return []
    if not supervised:
        return [service_pid]
    try:
        children = psutil.Process(service_pid).children()
    except psutil.Error:
        return []
    return sorted(c.pid for c in children if _running(c.pid) and not _helper(c))


# Children a ``spawn`` supervisor has that serve nothing: multiprocessing starts a resource
# tracker beside the workers (and relaunches it when it dies). Killing it is no worker crash,
# and its relaunch is no replacement worker.
MULTIPROCESSING_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _helper(child: psutil.Process) -> bool:
    try:
        command = " ".join(child.cmdline())
    except psutil.Error:
        return False
    return any(helper in command for helper in MULTIPROCESSING_HELPERS)


def pick_worker(service_pid: int, index: int, supervised: bool = True) -> int:
    found = workers(service_pid, supervised)
    if not found:
        raise FaultRefused(f"the service (pid {service_pid}) has no live worker")
    return found[index % len(found)]


def signal_worker(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        raise FaultRefused(f"worker {pid} is gone") from None


@dataclass(frozen=True)
class Restart:
    """What became of the worker pool after a kill, for the fault record's note."""

    killed: int
    replaced_by: int | None
    seconds: float | None
    service_alive: bool

    def note(self) -> str:
        if self.replaced_by is not None:
            return (
                f"worker {self.killed} killed; the supervisor started {self.replaced_by} "
                f"{self.seconds:.1f} s later"
            )
        if not self.service_alive:
            return f"worker {self.killed} killed; the whole service exited (no restart)"
        return f"worker {self.killed} killed; not replaced within the fault window"


def watch_restart(
    service_pid: int, before: list[int], killed: int, within_s: float, supervised: bool = True
) -> Restart:
    """Wait (bounded) for a new worker to appear in place of ``killed``."""
    began = time.monotonic()
    deadline = began + within_s
    while True:
        alive = supervised and _running(service_pid)
        now = workers(service_pid) if alive else []
        fresh = [pid for pid in now if pid not in before]
        if fresh:
            return Restart(killed, fresh[0], time.monotonic() - began, True)
        if not alive or time.monotonic() >= deadline:
            return Restart(killed, None, None, alive)
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# -- the lab's servers ------------------------------------------------------------------------


def own_part(paths: LabPaths, part: str) -> PartRecord:
    record = load_state(paths).parts.get(part)
    if record is None:
        raise FaultRefused(f"the lab has no {part} (is the stack up?)")
    if not record.owned or record.port in MACHINE_PORTS:
        hint = " (route it through the fault proxy and use proxy-down)" if part != "replica" else ""
        raise FaultRefused(
            f"the lab's {part} at {record.url} is not its own server; refusing to stop it{hint}"
        )
    return record


def stop_server(paths: LabPaths, part: str) -> str:
    """Stop one of the lab's own servers (SIGTERM, as a crash would not be restartable
    cleanly for MariaDB); the pid file goes with it."""
    record = own_part(paths, part)
    if part == "rabbitmq":
        raise FaultRefused(
            "stopping a broker node the lab started is not supported; use proxy-down on "
            "'rabbitmq' (the lab usually borrows the machine's broker with its own vhost)"
        )
    port = master = None
    if part == mariadb.REPLICA:
        port = record.port
        master = _master_port(port)
    processes.stop_part(paths, part)
    note = f"{part} on port {record.port} stopped"
    if master is not None:
        note += f" (it replicated from port {master})"
    return note


def start_server(paths: LabPaths, part: str, primary_port: int | None = None) -> str:
    """Start a stopped lab server again on its recorded port, and wait until it answers.
    The replica is pointed back at whatever it replicated from (``primary_port`` when
    unknown) and replication started."""
    record = own_part(paths, part)
    if processes.running(paths, part) is not None:
        return f"{part} was running"
    assert record.port is not None
    began = time.monotonic()
    if part == redis.PART:
        started = redis.start(paths, record.port, require_binary("redis-server"))
        redis.wait_ready(paths, started, record.port)
    elif part == mariadb.REPLICA:
        binaries = mariadb.Binaries(
            mariadbd=require_binary("mariadbd"), install_db=require_binary("mariadb-install-db")
        )
        started = mariadb.start(paths, part, record.port, binaries)
        mariadb.wait_ready(paths, part, started, record.port)
        master = _master_port(record.port) or primary_port
        if master is not None:
            from scenarios.faults.replication import point_at

            point_at(record.port, master)
    else:
        raise FaultRefused(f"restarting {part} is not supported")
    state = load_state(paths)
    state.parts[part].pid = started.pid
    save_state(paths, state)
    return f"{part} back on port {record.port} after {time.monotonic() - began:.1f} s"


def _master_port(replica_port: int | None) -> int | None:
    if replica_port is None:
        return None
    try:
        status = mariadb.slave_status(replica_port) or {}
    except pymysql.MySQLError:
        return None
    return int(status["Master_Port"]) if status.get("Master_Port") else None


# -- the service's database connections -------------------------------------------------------


def kill_connections(primary_port: int, user: str) -> int:
    """``KILL CONNECTION`` every thread of ``user`` on the lab's primary; how many."""
    if primary_port in MACHINE_PORTS:
        raise FaultRefused(f"port {primary_port} is the machine's MariaDB, not the lab's")
    killed = 0
    with mariadb.connect(primary_port) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT ID FROM information_schema.PROCESSLIST"
            " WHERE USER = %s AND ID <> CONNECTION_ID()",
            (user,),
        )
        for (thread,) in cur.fetchall():
            try:
                cur.execute("KILL CONNECTION %s", (int(thread),))
                killed += 1
            except pymysql.MySQLError:  # it ended on its own meanwhile
                continue
    return killed
