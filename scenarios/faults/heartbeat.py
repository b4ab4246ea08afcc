"""Replication lag measured as pt-heartbeat measures it, with Seconds_Behind_Master beside it.

A writer stamps one row on the primary every 100 ms (its own table, in the lab's own
database, on its own connection); a sampler reads that row on the replica. Lag is *now −
the newest stamp the replica has*: how old the replica's view of the world is, whatever the
reason (a slow link, a stopped SQL thread, ``MASTER_DELAY``). It includes up to one
interval of the writer's own granularity, as pt-heartbeat's does.

``Seconds_Behind_Master`` is sampled beside it because it is what people look at, and it
is often wrong: the SQL thread computes it from the event it is applying, so while the
*link* is slow the SQL thread is idle and it reads 0, and while the SQL thread is stopped it
reads NULL. ``lag.csv`` keeps both, so a chart shows the disagreement.

Both run on the lab's root account on the primary's and replica's ports, never the
service's, so they neither share its pool nor count as its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomysql
import pymysql

from scenarios.rundir import LAG_COLUMNS

DATABASE = "ticketlab_lab"
TABLE = f"{DATABASE}.heartbeat"
WRITE_INTERVAL_S = 0.1
SAMPLE_INTERVAL_S = 0.2
CONNECT_TIMEOUT_S = 2.0
SERVER_ID = 1
FIRST_STAMP_WAIT_S = 5.0  # one row per writer; the lab has one primary


@dataclass(frozen=True)
class LagSample:
    """One reading. ``heartbeat_lag_s`` is None when the replica could not be read;
    ``seconds_behind_master`` is None when the server said NULL (or could not be read)."""

    t: float
    heartbeat_lag_s: float | None
    seconds_behind_master: int | None
    io_running: str | None
    sql_running: str | None

    def row(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 3),
            "heartbeat_lag_s": _rounded(self.heartbeat_lag_s),
            "seconds_behind_master": self.seconds_behind_master,
            "io_running": self.io_running,
            "sql_running": self.sql_running,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class LagCsv:
    """``lag.csv`` written as samples come, so a run that dies still leaves what it saw."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=list(LAG_COLUMNS))
        self.writer.writeheader()

    def add(self, sample: LagSample) -> None:
        self.writer.writerow(sample.row())
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def ensure_table(primary_port: int) -> int:
    """The heartbeat table on the primary (replication carries it to the replica), stamped
    once; the stamp, so a first reading is never of a stamp some earlier run left."""
    with _connect_sync(primary_port) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            " server_id INT UNSIGNED NOT NULL PRIMARY KEY,"
            " ts_us BIGINT NOT NULL) ENGINE=InnoDB"
        )
        sql, args = stamp_sql()
        cur.execute(sql, args)
    return args[1]


def stamp_sql() -> tuple[str, tuple[int, int]]:
    return (
        f"INSERT INTO {TABLE} (server_id, ts_us) VALUES (%s, %s)"
        " ON DUPLICATE KEY UPDATE ts_us = VALUES(ts_us)",
        (SERVER_ID, int(time.time() * 1_000_000)),
    )


def read_sql() -> str:
    return f"SELECT ts_us FROM {TABLE} WHERE server_id = {SERVER_ID}"


def lag_of(ts_us: int | None, now: float) -> float | None:
    return None if ts_us is None else max(0.0, now - ts_us / 1_000_000)


def _connect_sync(port: int) -> pymysql.connections.Connection:
    return pymysql.connect(
        host="127.0.0.1",
        port=port,
        user="root",
        password="",
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=5,
        write_timeout=5,
    )


async def _connect(port: int) -> aiomysql.Connection:
    return await aiomysql.connect(
        host="127.0.0.1",
        port=port,
        user="root",
        password="",
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_S,
    )


class _Connection:
    """One connection that is opened on first use and reopened after any error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: aiomysql.Connection | None = None

    async def execute(self, sql: str, args: Any = None) -> tuple[Any, ...] | None:
        try:
            if self.conn is None:
                self.conn = await _connect(self.port)
            async with self.conn.cursor(aiomysql.DictCursor) as cur:
                await cur.execute(sql, args)
                return await cur.fetchone()
        except (pymysql.MySQLError, OSError, TimeoutError):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


async def write_heartbeats(primary_port: int, interval_s: float = WRITE_INTERVAL_S) -> None:
    """Stamp the primary every ``interval_s`` until cancelled; errors only skip a beat."""
    conn = _Connection(primary_port)
    try:
        while True:
            began = time.monotonic()
            with contextlib.suppress(pymysql.MySQLError, OSError, TimeoutError):
                sql, args = stamp_sql()
                async with asyncio.timeout(interval_s * 10):
                    await conn.execute(sql, args)
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - began)))
    finally:
        conn.close()


async def sample_once(replica: _Connection) -> LagSample:
    now = time.time()
    lag: float | None = None
    status: dict[str, Any] = {}
    with contextlib.suppress(pymysql.MySQLError, OSError, TimeoutError):
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation that
        # ends the run's sampling when it lands as the query completes, and the loop then
        # runs forever (a run hung after its load this way).
        async with asyncio.timeout(2.0):
            row = await replica.execute(read_sql())
        lag = lag_of(row["ts_us"] if row else None, now)
        async with asyncio.timeout(2.0):
            status = dict(await replica.execute("SHOW SLAVE STATUS") or {})
    behind = status.get("Seconds_Behind_Master")
    return LagSample(
        now,
        lag,
        None if behind is None else int(behind),
        status.get("Slave_IO_Running"),
        status.get("Slave_SQL_Running"),
    )


async def sample_lag(
    replica_port: int,
    on_sample: Callable[[LagSample], None],
    interval_s: float = SAMPLE_INTERVAL_S,
) -> None:
    """Read the replica's newest heartbeat and its slave status until cancelled."""
    replica = _Connection(replica_port)
    try:
        while True:
            began = time.monotonic()
            on_sample(await sample_once(replica))
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - began)))
    finally:
        replica.close()


async def heartbeat_lag(
    primary_port: int | None, replica_port: int | None, on_sample: Callable[[LagSample], None]
) -> None:
    """Writer and sampler together, until cancelled (the runner runs this beside the load).
    Without a replica (a stack given only a primary) there is nothing to measure."""
    if primary_port is None or replica_port is None:
        return
    first = await asyncio.to_thread(ensure_table, primary_port)
    await asyncio.to_thread(wait_for_stamp, replica_port, first, FIRST_STAMP_WAIT_S)
    await asyncio.gather(write_heartbeats(primary_port), sample_lag(replica_port, on_sample))


def wait_for_stamp(replica_port: int, stamp: int, within_s: float) -> bool:
    """Whether the replica shows ``stamp`` (or a newer one) within ``within_s``."""
    deadline = time.monotonic() + within_s
    try:
        with _connect_sync(replica_port) as conn, conn.cursor() as cur:
            while True:
                cur.execute(read_sql())
                row = cur.fetchone()
                if row is not None and row[0] >= stamp:
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
    except pymysql.MySQLError:
        return False


def probe_lag(primary_port: int, replica_port: int, wait_s: float = 2.0) -> float | None:
    """A one-off reading for ``ticketlab status``, when no writer runs: stamp the primary,
    then wait up to ``wait_s`` for the replica to show that stamp. The answer is how long it
    took, or — when it never came — how old the replica's newest stamp is (≥ ``wait_s``).
    None when either server cannot be read."""
    try:
        stamped = ensure_table(primary_port)
        if wait_for_stamp(replica_port, stamped, wait_s):
            return lag_of(stamped, time.time())
        with _connect_sync(replica_port) as conn, conn.cursor() as cur:
            cur.execute(read_sql())
            row = cur.fetchone()
        return lag_of(row[0] if row else None, time.time())
    except pymysql.MySQLError:
        return None
