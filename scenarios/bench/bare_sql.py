"""The bare-SQL baseline of a hold and its release: the statements main's ``conditional``
strategy sent when issue 16 was filed, issued straight through a driver's pool by as many
asyncio tasks as the HTTP run has connections, with no service in between.

The statements are written out here, frozen, on purpose: the service's own SQL shrinks as
round trips are cut, and a baseline that shrank with it would hide the gain. What this
loop does per pair is what a hand-written client of the old schema would do, so the ratio
(service pairs/s over these pairs/s) shows what the service costs on top of the database.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.config import Settings

HOLD_STATEMENTS = (
    "SELECT id FROM members WHERE id = %s FOR UPDATE",
    "SELECT ticket_limit FROM concerts WHERE id = %s",
    "SELECT s.id, z.code, s.row_label, s.number, s.price, s.status, s.version, s.hold_id"
    " FROM seats s JOIN zones z ON z.id = s.zone_id WHERE s.concert_id = %s AND s.id IN (%s)"
    " ORDER BY s.id",
    "SELECT"
    " (SELECT COUNT(*) FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id"
    "   WHERE h.member_id = %s AND h.concert_id = %s AND h.status = 'ACTIVE'"
    "   AND h.expires_at > %s)"
    " + (SELECT COUNT(*) FROM reservations r JOIN hold_seats hs ON hs.hold_id = r.hold_id"
    "   WHERE r.member_id = %s AND r.concert_id = %s AND (r.status = 'CONFIRMED'"
    "   OR (r.status = 'AWAITING_PAYMENT' AND r.expires_at > %s))) AS n",
    "INSERT INTO holds (concert_id, member_id, status, strategy, amount, created_at,"
    " expires_at) VALUES (%s, %s, 'ACTIVE', 'bare', %s, %s, %s)",
    "INSERT INTO hold_seats (hold_id, seat_id, concert_id, price) VALUES (%s, %s, %s, %s)",
    "INSERT INTO outbox (id, type, aggregate_id, correlation_id, occurred_at, payload)"
    " VALUES (%s, 'hold.created', %s, NULL, %s, %s)",
    "UPDATE seats SET status = 'HELD', hold_id = %s, version = version + 1"
    " WHERE id IN (%s) AND status = 'AVAILABLE'",
    "UPDATE holds SET claimed_at = UTC_TIMESTAMP(6) WHERE id = %s",
)
RELEASE_STATEMENTS = (
    "SELECT * FROM holds WHERE id = %s AND member_id = %s FOR UPDATE",
    "SELECT hs.seat_id, z.code, s.row_label, s.number, hs.price FROM hold_seats hs"
    " JOIN seats s ON s.id = hs.seat_id JOIN zones z ON z.id = s.zone_id"
    " WHERE hs.hold_id = %s ORDER BY hs.seat_id",
    "SELECT seat_id FROM hold_seats WHERE hold_id = %s AND released_at IS NULL ORDER BY seat_id",
    "UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, version = version + 1"
    " WHERE id IN (%s) AND hold_id = %s",
    "UPDATE hold_seats SET released_at = %s WHERE hold_id = %s AND released_at IS NULL",
    "UPDATE holds SET status = 'RELEASED', released_at = %s, released_by = 'MEMBER' WHERE id = %s",
    "INSERT INTO outbox (id, type, aggregate_id, correlation_id, occurred_at, payload)"
    " VALUES (%s, 'hold.released', %s, NULL, %s, %s)",
)


@dataclass(frozen=True)
class BareResult:
    driver: str
    seconds: float
    counts: dict[str, int]

    def rate(self, counter: str) -> float:
        return self.counts.get(counter, 0) / self.seconds if self.seconds > 0 else 0.0


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def _hold(cur: Any, member_id: int, concert_id: int, seat_id: int) -> int | None:
    """One hold of one seat; the hold's id, or None when the seat was taken (rolled back)."""
    now = _now()
    s = HOLD_STATEMENTS
    await cur.execute(s[0], (member_id,))
    await cur.fetchall()
    await cur.execute(s[1], (concert_id,))
    await cur.fetchall()
    await cur.execute(s[2], (concert_id, seat_id))
    seats = await cur.fetchall()
    await cur.execute(s[3], (member_id, concert_id, now, member_id, concert_id, now))
    await cur.fetchall()
    price = seats[0][4] if seats else 0
    await cur.execute(s[4], (concert_id, member_id, price, now, now + timedelta(minutes=15)))
    hold_id = int(cur.lastrowid)
    await cur.execute(s[5], (hold_id, seat_id, concert_id, price))
    payload = json.dumps({"concert_id": concert_id, "seat_ids": [seat_id]})
    await cur.execute(s[6], (str(uuid.uuid4()), str(hold_id), now, payload))
    await cur.execute(s[7], (hold_id, seat_id))
    if cur.rowcount != 1:
        return None
    await cur.execute(s[8], (hold_id,))
    return hold_id


async def _release(cur: Any, member_id: int, hold_id: int) -> None:
    now = _now()
    s = RELEASE_STATEMENTS
    await cur.execute(s[0], (hold_id, member_id))
    await cur.fetchall()
    await cur.execute(s[1], (hold_id,))
    await cur.fetchall()
    await cur.execute(s[2], (hold_id,))
    seat_ids = [row[0] for row in await cur.fetchall()]
    await cur.execute(s[3], (seat_ids[0], hold_id))
    await cur.execute(s[4], (now, hold_id))
    await cur.execute(s[5], (now, hold_id))
    await cur.execute(s[6], (str(uuid.uuid4()), str(hold_id), now, '{"released_by": "MEMBER"}'))


async def _client(
    pool: Any,
    members: Sequence[int],
    concert_id: int,
    seat_ids: Sequence[int],
    deadline: float,
    counts: Counter[str],
    rng: random.Random,
) -> None:
    turn = 0
    while time.monotonic() < deadline:
        member_id = members[turn % len(members)]
        turn += 1
        async with pool.acquire() as conn, conn.cursor() as cur:
            await conn.begin()
            hold_id = await _hold(cur, member_id, concert_id, rng.choice(seat_ids))
            if hold_id is None:
                await conn.rollback()
                counts["refused"] += 1
                continue
            await conn.commit()
            counts["granted"] += 1
            await conn.begin()
            await _release(cur, member_id, hold_id)
            await conn.commit()
            counts["released"] += 1


async def run_pairs(
    settings: Settings,
    *,
    driver: str,
    members: Sequence[int],
    concert_id: int,
    seat_ids: Sequence[int],
    connections: int,
    duration_s: float,
    seed: int = 1,
) -> BareResult:
    """Hold-and-release pairs for ``duration_s`` on ``connections`` pooled connections."""
    from scenarios.bench.drivers import open_pool

    pool = await open_pool(driver, settings, connections)
    counts: Counter[str] = Counter()
    try:
        # Members split between clients, as wrk's threads split them: no two clients
        # act as one member at once.
        shares = [members[i::connections] or members for i in range(connections)]
        began = time.monotonic()
        deadline = began + duration_s
        await asyncio.gather(
            *(
                _client(
                    pool, shares[i], concert_id, seat_ids, deadline, counts, random.Random(seed + i)
                )
                for i in range(connections)
            )
        )
        seconds = time.monotonic() - began
    finally:
        pool.close()
        await pool.wait_closed()
    return BareResult(driver, seconds, dict(counts))
