"""The detailed sample of one process: what a leak verdict needs, worker by worker.

Beyond ``resources.csv`` (CPU, RSS, fds, threads), a leak hunt wants USS (the memory only
this process holds: RSS counts shared pages a forked or spawned sibling also maps, so RSS
can rise without any leak), the sockets by TCP state (a leaked client session shows as
ESTABLISHED sockets that never close, a peer that hung up on an unread socket as
CLOSE_WAIT), and, for service workers, their own pool gauges, event-loop lag, garbage
collections and requests served (``profiling/gauges.py``).

TIME_WAIT sockets belong to the kernel, not to a process (they have no inode), so psutil
cannot attribute them: the column stays 0 per process and is kept so the format does not
change if that ever does. USS reads ``/proc/<pid>/smaps``, the costliest read here, which
is why only the roles asked for get this sample.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from profiling import gauges

SOCKET_STATES = {
    psutil.CONN_ESTABLISHED: "sockets_established",
    psutil.CONN_CLOSE_WAIT: "sockets_close_wait",
    psutil.CONN_TIME_WAIT: "sockets_time_wait",
}
COLUMNS = (
    "t",
    "role",
    "pid",
    "kind",
    "cpu_percent",
    "rss_bytes",
    "uss_bytes",
    "fds",
    "threads",
    "sockets_established",
    "sockets_close_wait",
    "sockets_time_wait",
    "sockets_other",
    *gauges.COLUMNS,
)
# The resources a leak verdict can be asked about (columns above), in report order.
LEAK_RESOURCES = (
    "uss_bytes",
    "rss_bytes",
    "fds",
    "sockets_established",
    "sockets_close_wait",
    "pool_in_use",
)


@dataclass(frozen=True)
class WorkerSample:
    """One process at one tick; ``kind`` is ``worker`` (serves requests), ``supervisor``
    (the service's parent of N workers) or ``process`` (anything else)."""

    t: float
    role: str
    pid: int
    kind: str
    cpu_percent: float | None
    values: dict[str, float]

    def row(self) -> dict[str, Any]:
        base = {
            "t": self.t,
            "role": self.role,
            "pid": self.pid,
            "kind": self.kind,
            "cpu_percent": self.cpu_percent,
        }
        return {name: base.get(name, self.values.get(name)) for name in COLUMNS}


def detailed_values(
    proc: psutil.Process, gauges_dir: Path | None, sockets: Mapping[int, str] | None = None
) -> dict[str, float]:
    """USS, fds, threads and sockets by state of ``proc``, and its gauges if it has any.
    ``sockets`` is this tick's census (``socket_census``); without one, no socket counts."""
    values: dict[str, float] = {}
    with proc.oneshot():
        memory = proc.memory_full_info()
        values["rss_bytes"] = memory.rss
        values["uss_bytes"] = memory.uss
        values["fds"] = proc.num_fds()
        values["threads"] = proc.num_threads()
    if sockets is not None:
        values.update(own_sockets(proc.pid, sockets))
    if gauges_dir is not None:
        values.update(gauges.worker_values(gauges_dir, proc.pid))
    return values


def _empty_counts() -> dict[str, float]:
    return dict.fromkeys((*SOCKET_STATES.values(), "sockets_other"), 0.0)


# /proc/net/tcp's hexadecimal states (include/net/tcp_states.h).
TCP_STATES = {"01": "sockets_established", "06": "sockets_time_wait", "08": "sockets_close_wait"}


def socket_census(proc_net: Path = Path("/proc/net")) -> dict[int, str]:
    """Every TCP socket's inode → column, read once per tick.

    psutil's per-process ``net_connections`` parses the whole of ``/proc/net/tcp`` and
    ``tcp6`` on every call: on a busy machine that is a fifth of a second each, times every
    process sampled. Reading the tables once and matching each process's socket inodes
    (``/proc/<pid>/fd``) gives the same counts at a fraction of the cost.
    """
    census: dict[int, str] = {}
    for name in ("tcp", "tcp6"):
        try:
            lines = (proc_net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9:
                census[int(fields[9])] = TCP_STATES.get(fields[3], "sockets_other")
    return census


def own_sockets(pid: int, census: Mapping[int, str]) -> dict[str, float]:
    counts = _empty_counts()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            column = census.get(int(target[8:-1]))
            if column is not None:
                counts[column] += 1
    return counts
