"""Statements a piece of service code sends, counted by MariaDB itself (the bench's
``holds`` rows and ``tests/integration/service/test_statement_counts.py`` both use it).

The code runs on a pool of exactly one connection, so every statement it sends goes
through that connection, and the server's session counters (``SHOW SESSION STATUS``) are
read on it before and after. ``Questions`` counts every statement a client sent; the
reading itself is one statement and is taken off. Several statements may travel in one
packet (``service/adapters/round_trips.py``), and the server keeps no count of packets, so
the round trips are counted on the client: the commands the connection sent
(``_execute_command``, the same in both drivers) while the operation ran.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from service.adapters.db import Database, create_pool
from service.config import Settings
from service.ports import HoldExpiryScheduler

T = TypeVar("T")
COUNTERS = (
    "Questions",
    "Com_begin",
    "Com_select",
    "Com_insert",
    "Com_update",
    "Com_update_multi",
    "Com_delete",
    "Com_commit",
    "Com_rollback",
)


@dataclass(frozen=True)
class Statements:
    """What the server counted for one operation: ``total`` statements, and by kind; and
    the ``round_trips`` (commands) the client sent them in."""

    total: int
    by_kind: dict[str, int]
    round_trips: int


async def session_counters(db: Database) -> dict[str, int]:
    async with db.pool.acquire() as conn, conn.cursor() as cur:
        names = ", ".join(f"'{name}'" for name in COUNTERS)
        await cur.execute(f"SHOW SESSION STATUS WHERE Variable_name IN ({names})")
        rows = await cur.fetchall()
        await conn.commit()  # ends the snapshot the SHOW may have opened
    return {str(name): int(value) for name, value in rows}


@asynccontextmanager
async def one_connection(settings: Settings) -> AsyncIterator[Database]:
    """A Database whose pool holds a single connection, for counting on it."""
    pool = await create_pool(settings.db, settings, size=1)
    db = Database(pool, settings.db_pool_timeout_s)
    try:
        yield db
    finally:
        await db.close()


async def count_statements(
    db: Database, operation: Callable[[], Awaitable[T]]
) -> tuple[T, Statements]:
    """Run ``operation`` (on ``db``'s one connection) and count what it sent."""
    assert db.max_size == 1, "count on a one-connection pool (one_connection)"
    before = await session_counters(db)
    async with db.pool.acquire() as conn:
        sent = _CommandCounter(conn)
    try:
        result = await operation()
    finally:
        sent.stop()
    after = await session_counters(db)
    # The second reading's SHOW and the COMMIT after the first are counted in ``after``.
    by_kind = {
        name.removeprefix("Com_"): after[name] - before[name]
        for name in COUNTERS
        if name != "Questions" and after[name] != before[name]
    }
    by_kind["commit"] = by_kind.get("commit", 0) - 1
    if by_kind["commit"] == 0:
        del by_kind["commit"]
    total = after["Questions"] - before["Questions"] - 2
    return result, Statements(total, by_kind, sent.count)


class _CommandCounter:
    """Counts the commands (each one a round trip) ``conn`` sends until ``stop``."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.count = 0
        self._send = conn._execute_command

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await self._send(*args, **kwargs)

        conn._execute_command = counted

    def stop(self) -> None:
        del self.conn._execute_command  # the driver's own method again


class NoExpiry(HoldExpiryScheduler):
    """Counting holds needs no broker: the expiry notice is not SQL."""

    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        return None


async def per_operation(
    settings: Settings, concert_id: int, seat_ids: Sequence[int]
) -> dict[str, Statements]:
    """Statements of one hold (of ``seat_ids``), its release, a reservation and its confirm
    under ``settings.claim_strategy``, each on a one-connection pool."""
    import redis.asyncio as aioredis

    from service.bootstrap import booking_deps
    from service.usecases.holds import place_hold, release_hold, reserve_hold

    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        async with one_connection(settings) as db:
            deps = booking_deps(settings, db, client, NoExpiry())
            member = await _new_member(db)
            hold, held = await count_statements(
                db, lambda: place_hold(deps, member, concert_id, seat_ids)
            )
            _, released = await count_statements(db, lambda: release_hold(deps, member, hold.id))
            again = await place_hold(deps, member, concert_id, seat_ids)
            reservation, reserved = await count_statements(
                db, lambda: reserve_hold(deps, member, again.id)
            )

            async def confirm() -> bool:
                async with deps.uow() as uow:
                    done = await uow.reservations.confirm(reservation, deps.clock.now())
                    await uow.commit()
                return done

            _, confirmed = await count_statements(db, confirm)
    finally:
        await client.aclose()
    return {"hold": held, "release": released, "reservation": reserved, "confirm": confirmed}


async def _new_member(db: Database) -> int:
    async with db.transaction() as cur:
        await cur.execute(
            "INSERT INTO members (issuer, subject, created_at, last_login_at)"
            " VALUES ('bench', UUID(), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
        )
        return int(cur.lastrowid)
