"""Replication lag, three ways, on the lab's own replica (root on its loopback port).

- ``MASTER_DELAY``: the SQL thread holds each event until it is N whole seconds old. It can
  only be changed with replication stopped, so setting it is a full STOP SLAVE / CHANGE
  MASTER / START SLAVE, and so is clearing it.
- The SQL thread stopped: events keep arriving in the relay log and none is applied; lag
  grows without bound, and Seconds_Behind_Master reads NULL.
- A slow link: the replica connects to the primary through the fault proxy, and latency
  is added there. The delay is set only once the replica is connected (a handshake through
  seconds of latency can time out and leave it retrying), and the SQL thread, waiting
  idle for events, reports Seconds_Behind_Master 0 the whole time.

Every change keeps ``MASTER_USE_GTID=slave_pos``, so the replica resumes exactly where it
was, whatever it is pointed at.
"""

from __future__ import annotations

import time
from typing import Any

import pymysql

from scenarios.stack import mariadb
from scenarios.stack.errors import StackError

CONNECT_WAIT_S = 15.0


def slave_status(replica_port: int) -> dict[str, Any]:
    return mariadb.slave_status(replica_port) or {}


def master_port(replica_port: int) -> int | None:
    port = slave_status(replica_port).get("Master_Port")
    return int(port) if port else None


def set_master_delay(replica_port: int, seconds: int) -> None:
    with mariadb.connect(replica_port) as conn, conn.cursor() as cur:
        cur.execute("STOP SLAVE")
        cur.execute("CHANGE MASTER TO MASTER_DELAY = %s", (int(seconds),))
        cur.execute("START SLAVE")
    wait_connected(replica_port)


def master_delay(replica_port: int) -> int:
    return int(slave_status(replica_port).get("SQL_Delay") or 0)


def stop_sql_thread(replica_port: int) -> None:
    with mariadb.connect(replica_port) as conn, conn.cursor() as cur:
        cur.execute("STOP SLAVE SQL_THREAD")


def start_sql_thread(replica_port: int) -> None:
    with mariadb.connect(replica_port) as conn, conn.cursor() as cur:
        cur.execute("START SLAVE SQL_THREAD")


def point_at(replica_port: int, port: int) -> None:
    """Replicate from ``127.0.0.1:port`` (the primary, or the proxy in front of it)."""
    with mariadb.connect(replica_port) as conn, conn.cursor() as cur:
        cur.execute("STOP SLAVE")
        cur.execute(
            "CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USE_GTID = slave_pos",
            (mariadb.LOOPBACK, port),
        )
        cur.execute("START SLAVE")
    wait_connected(replica_port)


def wait_connected(replica_port: int, timeout: float = CONNECT_WAIT_S) -> dict[str, Any]:
    """Until both threads run and the IO thread is connected (not ``Connecting``)."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            status = slave_status(replica_port)
        except pymysql.MySQLError:
            status = {}
        if status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes":
            return status
        time.sleep(0.05)
    error = status.get("Last_IO_Error") or status.get("Last_SQL_Error") or "no error reported"
    raise StackError(
        f"replica on port {replica_port} did not reconnect in {timeout:g} s "
        f"(IO={status.get('Slave_IO_Running')}, SQL={status.get('Slave_SQL_Running')}: {error})"
    )


def restore(replica_port: int, primary_port: int) -> list[str]:
    """Undo every replication fault: no delay, both threads running, straight to the primary.
    Returns what had to be undone (nothing, when the faults were switched off cleanly)."""
    status = slave_status(replica_port)
    undone = []
    if int(status.get("SQL_Delay") or 0):
        set_master_delay(replica_port, 0)
        undone.append("MASTER_DELAY")
    if int(status.get("Master_Port") or 0) != primary_port:
        point_at(replica_port, primary_port)
        undone.append("link through the proxy")
    status = slave_status(replica_port)
    if status.get("Slave_SQL_Running") != "Yes" or status.get("Slave_IO_Running") != "Yes":
        with mariadb.connect(replica_port) as conn, conn.cursor() as cur:
            cur.execute("START SLAVE")
        wait_connected(replica_port)
        undone.append("stopped replication threads")
    return undone
