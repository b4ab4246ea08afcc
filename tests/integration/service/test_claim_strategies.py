"""Every claim strategy under a real stampede: 200 members, the same 10 seats, one instant.

``naive`` must double-book (that is what it is for); every other strategy must never put a
seat in two holds, must grant something, and may refuse only with SeatsTaken (409) or
Contention (503). Each run prints its hold throughput (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from service import schema
from service.adapters.claims import build_claimer
from service.adapters.db import Database
from service.config import CLAIM_STRATEGIES, Settings
from service.domain.errors import Contention, SeatsTaken
from service.domain.holds import Hold
from service.domain.venue import venue_layout
from service.ports import ClaimRequest
from tests.support.isolation import Isolation

BUYERS = 200
HOT_SEATS = 10
POOL_SIZE = 50


@pytest.fixture(scope="module")
def settings(isolation: Isolation) -> Settings:
    """A pool big enough for real concurrency: 50 transactions in flight at once."""
    return isolation.settings(db_pool_size=POOL_SIZE, db_pool_timeout_s=10.0)


@pytest.fixture(scope="module")
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """Waits for a free connection like the DB pool does; redis-py's default pool refuses
    the 101st concurrent command at once, which would turn the stampede into pool errors."""
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=POOL_SIZE,
        timeout=settings.db_pool_timeout_s,
        decode_responses=True,
    )
    client = aioredis.Redis(connection_pool=pool)
    try:
        yield client
    finally:
        await client.aclose()
        await pool.disconnect()


@pytest.fixture(scope="module")
async def members(db: Database) -> list[int]:
    async with db.transaction() as cur:
        await cur.executemany(
            "INSERT INTO members (issuer, subject, created_at, last_login_at)"
            " VALUES ('test', %s, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            [(f"buyer-{n}",) for n in range(BUYERS)],
        )
        await cur.execute("SELECT id FROM members ORDER BY id")
        return [r["id"] for r in await cur.fetchall()]


@dataclass
class Stampede:
    concert_id: int
    granted: list[Hold]
    refused: list[BaseException]
    seconds: float


def new_concert(settings: Settings) -> int:
    """A concert of its own per strategy, so no run sees another's seats or gate keys."""
    layout = venue_layout(zones=1, seats_per_row=HOT_SEATS, max_rows=1)
    return schema.seed(settings, layout=layout).concert_ids[0]


async def hot_seats(db: Database, concert_id: int) -> list[int]:
    rows = await db.fetch_all("SELECT id FROM seats WHERE concert_id = %s", (concert_id,))
    return sorted(r["id"] for r in rows)


async def stampede(
    strategy: str, settings: Settings, db: Database, redis: aioredis.Redis, members: list[int]
) -> Stampede:
    concert_id = new_concert(settings)
    seats = await hot_seats(db, concert_id)
    claimer = build_claimer(strategy, settings, db, redis)
    rng = random.Random(f"{strategy}-{concert_id}")
    now = datetime.now(UTC)
    requests = [
        ClaimRequest(
            concert_id=concert_id,
            member_id=member_id,
            seat_ids=tuple(sorted(rng.sample(seats, rng.randint(1, 3)))),
            now=now,
            expires_at=now + timedelta(seconds=settings.hold_ttl_s),
        )
        for member_id in members
    ]
    await open_every_connection(db)
    barrier = asyncio.Barrier(len(requests) + 1)

    async def buyer(request: ClaimRequest) -> Hold:
        await barrier.wait()
        return await claimer.claim(request)

    tasks = [asyncio.create_task(buyer(r)) for r in requests]
    await barrier.wait()
    began = time.perf_counter()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    seconds = time.perf_counter() - began
    granted = [o for o in outcomes if isinstance(o, Hold)]
    refused = [o for o in outcomes if not isinstance(o, Hold)]
    print(
        f"\n{strategy:>12}: {len(granted)} granted, {len(refused)} refused of {len(requests)}"
        f" in {seconds:.3f} s = {len(requests) / seconds:.0f} claims/s,"
        f" {len(granted) / seconds:.1f} holds/s; refusals: "
        + ", ".join(f"{k} {v}" for k, v in Counter(_reason(e) for e in refused).items())
    )
    return Stampede(concert_id, granted, refused, seconds)


async def open_every_connection(db: Database) -> None:
    """The pool opens connections lazily, one at a time: without this, the first buyers
    would run alone on the few open ones while it grows, and the stampede would measure
    the pool's warm-up instead of buyers racing for seats."""
    opened = [await db.pool.acquire() for _ in range(db.max_size)]
    for conn in opened:
        db.pool.release(conn)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, Contention):
        return f"contention:{exc.reason}"
    return type(exc).__name__


def seats_granted_twice(granted: list[Hold]) -> set[int]:
    counts = Counter(seat.id for hold in granted for seat in hold.seats)
    return {seat_id for seat_id, n in counts.items() if n > 1}


async def seats_in_two_live_rows(db: Database, concert_id: int) -> set[int]:
    rows = await db.fetch_all(
        "SELECT hs.seat_id FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id"
        " WHERE h.concert_id = %s AND h.status = 'ACTIVE' AND hs.released_at IS NULL"
        " GROUP BY hs.seat_id HAVING COUNT(*) > 1",
        (concert_id,),
    )
    return {r["seat_id"] for r in rows}


async def test_naive_double_books_under_a_stampede(
    settings: Settings, db: Database, redis_client: aioredis.Redis, members: list[int]
) -> None:
    run = await stampede("naive", settings, db, redis_client, members)
    twice = seats_granted_twice(run.granted)
    print(f"       naive: {len(twice)} of {HOT_SEATS} seats granted more than once")
    assert twice, "naive granted no seat twice"
    assert await seats_in_two_live_rows(db, run.concert_id), "no seat has two live hold rows"


SAFE_STRATEGIES = [s for s in CLAIM_STRATEGIES if s != "naive"]


@pytest.mark.parametrize("strategy", SAFE_STRATEGIES)
async def test_a_safe_strategy_never_grants_a_seat_twice(
    strategy: str,
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    members: list[int],
) -> None:
    run = await stampede(strategy, settings, db, redis_client, members)
    assert run.granted, "nobody got a hold"
    assert seats_granted_twice(run.granted) == set()
    assert await seats_in_two_live_rows(db, run.concert_id) == set()
    unexpected = [e for e in run.refused if not isinstance(e, SeatsTaken | Contention)]
    assert unexpected == []


@pytest.mark.parametrize("strategy", CLAIM_STRATEGIES)
async def test_a_granted_hold_owns_its_seats_in_the_database(
    strategy: str,
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    members: list[int],
) -> None:
    concert_id = new_concert(settings)
    seats = await hot_seats(db, concert_id)
    claimer = build_claimer(strategy, settings, db, redis_client)
    now = datetime.now(UTC)
    request = ClaimRequest(
        concert_id, members[0], tuple(seats[:2]), now, now + timedelta(minutes=1)
    )
    hold = await claimer.claim(request)
    rows = await db.fetch_all(
        "SELECT status, hold_id FROM seats WHERE id IN (%s, %s)", (seats[0], seats[1])
    )
    assert [(r["status"], r["hold_id"]) for r in rows] == [("HELD", hold.id)] * 2
    assert hold.strategy == strategy


@pytest.mark.parametrize("strategy", CLAIM_STRATEGIES)
async def test_a_seat_already_held_is_refused_as_taken(
    strategy: str,
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    members: list[int],
) -> None:
    concert_id = new_concert(settings)
    seats = await hot_seats(db, concert_id)
    claimer = build_claimer(strategy, settings, db, redis_client)
    now = datetime.now(UTC)
    later = now + timedelta(minutes=1)
    await claimer.claim(ClaimRequest(concert_id, members[0], (seats[1],), now, later))
    with pytest.raises(SeatsTaken) as refused:
        await claimer.claim(ClaimRequest(concert_id, members[1], (seats[0], seats[1]), now, later))
    assert refused.value.seat_ids == [seats[1]]
