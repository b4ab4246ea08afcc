"""Process and server faults as nemesis kinds (``processes.py`` does the work, on the lab's
own processes and servers only): a worker killed or paused, a lab server stopped, the
service's database connections killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping
from typing import Any

from scenarios.faults import processes
from scenarios.faults.fault_kind import Applied, FaultContext, FaultKind, Param, in_thread

_WORKER = Param("int", "which worker (by pid order; wraps around)", default=0, minimum=0)


async def kill_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    service, supervised = ctx.need("service_pid"), ctx.service_workers > 1
    before = processes.workers(service, supervised)
    pid = processes.pick_worker(service, params.get("worker", 0), supervised)
    processes.signal_worker(pid, signal.SIGKILL)
    wait_s = params.get("restart_wait_s", 10.0)
    restart = await in_thread(processes.watch_restart, service, before, pid, wait_s, supervised)
    return Applied(note=restart.note(), state=restart)


async def pause_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    supervised = ctx.service_workers > 1
    pid = processes.pick_worker(ctx.need("service_pid"), params.get("worker", 0), supervised)
    processes.signal_worker(pid, signal.SIGSTOP)
    return Applied(note=f"worker {pid} paused (SIGSTOP)", state=pid)


async def pause_off(ctx: FaultContext, params: Mapping[str, Any], pid: Any) -> str:
    with contextlib.suppress(processes.FaultRefused):
        processes.signal_worker(pid, signal.SIGCONT)
    return f"worker {pid} resumed (SIGCONT)"


async def server_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    note = await in_thread(processes.stop_server, ctx.need("paths"), params["server"])
    return Applied(note=note)


async def server_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> str:
    return await in_thread(
        processes.start_server, ctx.need("paths"), params["server"], ctx.primary_port
    )


async def _kill_repeatedly(ctx: FaultContext, every_s: float, counts: list[int]) -> None:
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(Exception):
            counts.append(
                await in_thread(processes.kill_connections, ctx.primary_port, ctx.service_db_user)
            )


async def kill_db_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    port, user = ctx.need("primary_port"), ctx.need("service_db_user")
    counts = [await in_thread(processes.kill_connections, port, user)]
    task = None
    if params.get("every_s"):
        task = asyncio.create_task(_kill_repeatedly(ctx, params["every_s"], counts))
    return Applied(note=f"killed {counts[0]} connection(s) of {user}", state=(task, counts))


async def kill_db_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> str:
    task, counts = state
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return f"killed {sum(counts)} connection(s) of {ctx.service_db_user} in {len(counts)} round(s)"


KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        "worker-kill",
        "SIGKILL one service worker; the note says whether the supervisor replaced it.",
        kill_on,
        None,
        params={
            "worker": _WORKER,
            "restart_wait_s": Param(
                "number", "how long to watch for a replacement", default=10.0, minimum=0.1
            ),
        },
        target=lambda p: "service",
    ),
    FaultKind(
        "worker-pause",
        "SIGSTOP one service worker, SIGCONT when off.",
        pause_on,
        pause_off,
        params={"worker": _WORKER},
        target=lambda p: "service",
    ),
    FaultKind(
        "server-stop",
        "Stop one of the lab's own servers and start it again when off (a given URL or "
        "the machine's server is refused; for RabbitMQ use proxy-down on 'rabbitmq').",
        server_on,
        server_off,
        params={
            "server": Param(
                "string", "which lab server", required=True, choices=("redis", "replica")
            )
        },
        target=lambda p: str(p.get("server")),
    ),
    FaultKind(
        "db-kill-connections",
        "KILL every MariaDB connection of the service's user on the primary; with "
        "every_s, again and again until off.",
        kill_db_on,
        kill_db_off,
        params={"every_s": Param("number", "repeat interval", minimum=0.1)},
        target=lambda p: "primary",
    ),
)
