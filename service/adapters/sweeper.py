"""The sweeper: a periodic backstop that releases expired holds the expiry consumer missed.

Messages get lost in ways a queue cannot prevent (a publish that failed after the hold
committed, a broker restarted without its disk, a message parked after too many
retries). Every ``sweeper_interval_s`` the sweeper looks for ACTIVE holds, and CONVERTED
holds whose reservation is still AWAITING_PAYMENT, that expired at least
``sweeper_grace_s`` ago (the grace leaves the consumer its chance first), and releases
them with ``released_by='sweeper'``: each one it catches is a miss the lab can count.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a LIMIT, so any number of worker
processes can sweep at once without waiting for each other or releasing a hold twice.
The claim runs under READ COMMITTED: under REPEATABLE READ the range scan would also take
gap locks on the holds index and block new holds from being inserted while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from service import metrics
from service.adapters import bookings
from service.adapters.db import Database, to_db
from service.adapters.expiry import FreedSeats, GateKeeper, ReleaseFn
from service.clock import SystemClock
from service.config import Settings
from service.domain.errors import Contention
from service.domain.holds import ReleasedBy
from service.ports import Clock

log = logging.getLogger(__name__)

SWEEP_LIMIT = 100
# Spread the ticks of N workers a little, so they do not all scan in the same instant.
JITTER = 0.2

SELECT_EXPIRED_ACTIVE = (
    "SELECT id FROM holds WHERE status = 'ACTIVE' AND expires_at <= %s"
    " ORDER BY expires_at, id LIMIT %s FOR UPDATE SKIP LOCKED"
)
# Driven from the reservations index (status, expires_at), which only unpaid rows stay in
# for long; driving from holds would rescan every paid (CONVERTED) hold on every tick. This
# takes the reservation lock before the hold's, against bookings' usual order, but SKIP
# LOCKED never waits, so it cannot deadlock: at worst a consumer releasing the same hold
# waits for this batch to commit, then finds nothing left to do.
SELECT_EXPIRED_UNPAID = (
    "SELECT STRAIGHT_JOIN h.id FROM reservations r JOIN holds h ON h.id = r.hold_id"
    " WHERE r.status = 'AWAITING_PAYMENT' AND r.expires_at <= %s AND h.status = 'CONVERTED'"
    " ORDER BY r.expires_at, r.id LIMIT %s FOR UPDATE SKIP LOCKED"
)


async def claim_expired_holds(cur: Any, cutoff: datetime, limit: int) -> list[int]:
    """Lock up to ``limit`` due holds nobody else has locked; their ids, in lock order."""
    await cur.execute(SELECT_EXPIRED_ACTIVE, (to_db(cutoff), limit))
    hold_ids = [row["id"] for row in await cur.fetchall()]
    if len(hold_ids) < limit:
        await cur.execute(SELECT_EXPIRED_UNPAID, (to_db(cutoff), limit - len(hold_ids)))
        hold_ids += [row["id"] for row in await cur.fetchall()]
    return hold_ids


async def sweep_once(
    db: Database,
    now: datetime,
    grace_s: float,
    limit: int,
    *,
    release: ReleaseFn = bookings.release_expired_hold,
    gates: GateKeeper | None = None,
) -> int:
    """Release up to ``limit`` holds due by ``now − grace_s`` in one transaction; how many.

    A hold the consumer is releasing right now is locked, hence skipped; one it released
    a moment ago is no longer selected, or ``release`` finds nothing left to do.
    """
    cutoff = now - timedelta(seconds=grace_s)
    released: dict[int, FreedSeats | None] = {}
    async with db.transaction(isolation="READ COMMITTED") as cur:
        for hold_id in await claim_expired_holds(cur, cutoff, limit):
            if await release(cur, hold_id, ReleasedBy.SWEEPER, now):
                released[hold_id] = await gates.seats_of(cur, hold_id) if gates else None
    if released:
        metrics.holds_released.labels(released_by=ReleasedBy.SWEEPER.value).inc(len(released))
        log.warning(
            "sweeper released %d expired hold(s) the expiry consumer missed: %s",
            len(released),
            ", ".join(map(str, sorted(released))),
        )
        if gates is not None:
            for freed in released.values():
                await gates.open(freed)
    return len(released)


class Sweeper:
    """Runs ``sweep_once`` every ``sweeper_interval_s`` in a background task.

    ``start()`` does nothing when ``settings.sweeper_enabled`` is False (a scenario turns
    it off to measure the consumer alone). A full batch is followed at once by another, so a
    backlog drains without waiting for the next tick. Errors are logged and the next tick
    tries again; the task only ends when ``close()`` cancels it.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        redis: aioredis.Redis | None = None,
        *,
        clock: Clock | None = None,
        limit: int = SWEEP_LIMIT,
        release: ReleaseFn = bookings.release_expired_hold,
    ) -> None:
        self.settings = settings
        self.db = db
        self.gates = GateKeeper(settings, redis)
        self.clock = clock or SystemClock()
        self.limit = limit
        self.release = release
        self.released_total = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.settings.sweeper_enabled:
            log.info("sweeper disabled (TICKETLAB_SWEEPER_ENABLED=false)")
            return
        if self.running:
            return
        self._task = asyncio.create_task(self._run(), name="ticketlab-sweeper")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def sweep(self) -> int:
        released = await sweep_once(
            self.db,
            self.clock.now(),
            self.settings.sweeper_grace_s,
            self.limit,
            release=self.release,
            gates=self.gates,
        )
        self.released_total += released
        return released

    async def _run(self) -> None:
        while True:
            try:
                released = await self.sweep()
            except Contention as exc:
                log.info("sweeper: contended (%s); trying again next tick", exc.reason)
                released = 0
            except Exception:
                log.exception("sweeper: sweep failed; trying again next tick")
                released = 0
            if released < self.limit:
                await asyncio.sleep(self._pause())

    def _pause(self) -> float:
        interval = self.settings.sweeper_interval_s
        return interval * random.uniform(1 - JITTER, 1 + JITTER)
