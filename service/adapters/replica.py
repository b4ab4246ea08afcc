"""The replica, as the read policies see it: its heartbeat lag, waiting for a GTID, and each
member's latest write.

``HeartbeatLag`` measures lag as pt-heartbeat does, because ``Seconds_Behind_Master`` lies
(0 while the link is slow and the SQL thread idles, NULL while the SQL thread is stopped):
every worker stamps one row on the primary every ``STAMP_INTERVAL_S`` with its own clock,
and reads that row on the replica as often. The lag at the moment of a read is *now − the
newest stamp the replica has shown*: it grows by itself while the replica (or the primary)
cannot be read, and it overstates by at most a stamp and a sample interval, never
understates. It is the service's own table (``replica_heartbeat``) on the service's own
connections: the lab's heartbeat (``scenarios/faults/heartbeat.py``) is another one.

``RedisWriteMarks`` keeps a member's latest write position in Redis (every worker must see
it; the next read may land anywhere) as the primary's ``@@gtid_binlog_pos`` right after the
write committed: that position contains the write, and ``MASTER_GTID_WAIT`` on the replica
returns once the replica has applied it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import pymysql
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.adapters.db import Database
from service.domain.errors import DomainError
from service.domain.reads import WRITE_UNKNOWN
from service.read_ports import ReplicaLag, WriteMarks

STAMP_INTERVAL_S = 0.1
CLOSE_WITHIN_S = 5.0
MARK_TTL_S = 60  # past a minute the replica has long caught up, or the member must wait anyway
log = logging.getLogger("service")

_STAMP = (
    "INSERT INTO replica_heartbeat (id, stamped_at) VALUES (1, %s)"
    " ON DUPLICATE KEY UPDATE stamped_at = GREATEST(stamped_at, VALUES(stamped_at))"
)
_NEWEST = "SELECT stamped_at FROM replica_heartbeat WHERE id = 1"
_CANNOT_ASK = (DomainError, pymysql.MySQLError, OSError)


class HeartbeatLag(ReplicaLag):
    """Stamps the primary and watches the replica, in one background task per worker."""

    def __init__(
        self,
        primary: Database,
        replica: Database,
        interval_s: float = STAMP_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.primary, self.replica = primary, replica
        self.interval_s, self.clock = interval_s, clock
        self.newest: float | None = None
        self._task: asyncio.Task[None] | None = None

    def lag_ms(self) -> int | None:
        if self.newest is None:
            return None
        return max(0, round((self.clock() - self.newest) * 1000))

    async def reached(self, position: str, timeout_s: float) -> bool:
        try:
            row = await self.replica.fetch_one(
                "SELECT MASTER_GTID_WAIT(%s, %s) AS waited", (position, timeout_s)
            )
        except _CANNOT_ASK:
            return False
        return row is not None and row["waited"] == 0

    async def beat(self) -> None:
        """One stamp on the primary, one look at the replica; either may fail alone."""
        with contextlib.suppress(*_CANNOT_ASK):
            async with self.primary.transaction() as cur:
                await cur.execute(_STAMP, (self.clock(),))
        with contextlib.suppress(*_CANNOT_ASK):
            row = await self.replica.fetch_one(_NEWEST)
            if row is not None:
                seen = float(row["stamped_at"])
                self.newest = seen if self.newest is None else max(self.newest, seen)

    async def _run(self) -> None:
        while True:
            began = time.monotonic()
            await self.beat()
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - began)))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="replica-heartbeat")

    async def close(self) -> None:
        """Cancel the beat, again if a cancellation was lost (a driver's ``wait_for`` can
        swallow one on 3.11), for at most ``CLOSE_WITHIN_S``: shutdown must not hang."""
        task = self._task
        deadline = time.monotonic() + CLOSE_WITHIN_S
        while task is not None and not task.done() and time.monotonic() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)


class NoReplica(ReplicaLag):
    """The ``primary`` policy's: no replica is read, so none is watched."""

    def lag_ms(self) -> int | None:
        return None

    async def reached(self, position: str, timeout_s: float) -> bool:
        return False


class RedisWriteMarks(WriteMarks):
    def __init__(self, redis: aioredis.Redis, primary: Database, prefix: str) -> None:
        self.redis, self.primary, self.prefix = redis, primary, prefix

    def _key(self, member_id: int) -> str:
        return f"{self.prefix}:last-write:{member_id}"

    async def mark(self, member_id: int) -> None:
        """Best effort: the write is done whatever happens here; a mark that cannot be kept
        leaves that member's next reads as stale as the replica (logged)."""
        try:
            row = await self.primary.fetch_one("SELECT @@gtid_binlog_pos AS position")
            if row and row["position"]:
                await self.redis.set(self._key(member_id), row["position"], ex=MARK_TTL_S)
        except (*_CANNOT_ASK, RedisError) as exc:
            log.warning("member %s's write not marked for read-your-writes: %s", member_id, exc)

    async def last(self, member_id: int) -> str | None:
        try:
            return await self.redis.get(self._key(member_id))
        except RedisError:
            return WRITE_UNKNOWN


class NoWriteMarks(WriteMarks):
    async def mark(self, member_id: int) -> None:
        return None

    async def last(self, member_id: int) -> str | None:
        return None
