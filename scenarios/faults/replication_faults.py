"""Replication lag as nemesis kinds, three ways (``replication.py`` does the work):
``MASTER_DELAY``, the SQL thread stopped, and latency on the replication link through the
fault proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scenarios.faults import replication
from scenarios.faults.fault_kind import Applied, FaultContext, FaultKind, Param, in_thread
from scenarios.faults.lab import REPLICATION

REPLICATION_TOXIC = "replication-delay"


async def delay_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await in_thread(replication.set_master_delay, ctx.need("replica_port"), params["seconds"])
    return Applied()


async def delay_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await in_thread(replication.set_master_delay, ctx.need("replica_port"), 0)


async def sql_stop_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await in_thread(replication.stop_sql_thread, ctx.need("replica_port"))
    return Applied()


async def sql_stop_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await in_thread(replication.start_sql_thread, ctx.need("replica_port"))


async def link_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    proxy = ctx.need("proxy")
    await in_thread(replication.wait_connected, ctx.need("replica_port"))  # then, and only then
    toxic = {
        "name": REPLICATION_TOXIC,
        "type": "latency",
        "stream": "downstream",
        "attributes": {"latency": params["latency_ms"], "jitter": params.get("jitter_ms", 0)},
    }
    await in_thread(proxy.client.add_toxic, REPLICATION, toxic)
    return Applied()


async def link_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await in_thread(ctx.need("proxy").client.remove_toxic, REPLICATION, REPLICATION_TOXIC)


KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        "replication-delay",
        "MASTER_DELAY on the replica (whole seconds; STOP/CHANGE/START SLAVE each way).",
        delay_on,
        delay_off,
        params={"seconds": Param("int", "the delay in seconds", required=True, minimum=1)},
        target=lambda p: "replica",
    ),
    FaultKind(
        "replication-sql-stop",
        "The replica's SQL thread stopped: lag grows without bound.",
        sql_stop_on,
        sql_stop_off,
        target=lambda p: "replica",
    ),
    FaultKind(
        "replication-link-delay",
        "Latency on the replication link (the replica reaches the primary through the "
        "fault proxy; the delay is set once it is connected).",
        link_on,
        link_off,
        params={
            "latency_ms": Param("int", "added latency", required=True, minimum=1),
            "jitter_ms": Param("int", "± jitter", default=0, minimum=0),
        },
        target=lambda p: "replication",
        links=lambda p: (REPLICATION,),
    ),
)
