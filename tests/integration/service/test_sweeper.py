"""The sweeper against a real MariaDB: what it releases, what it leaves, and N at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from service import schema
from service.adapters.claims.redis_gate import gate_key
from service.adapters.db import Database, create_pool, from_db
from service.bootstrap import expiry_deps
from service.config import Settings
from service.domain.holds import ReleasedBy
from service.domain.venue import venue_layout
from service.jobs.sweeper import Sweeper
from service.usecases.expiry import ExpiryDeps, sweep_expired
from tests.support.holds import (
    SeatPool,
    convert,
    hold_row,
    make_hold,
    released,
    reservation_status,
    seat_statuses,
    utcnow,
)
from tests.support.isolation import Isolation
from tests.support.waiting import wait_until

GRACE_S = 2.0


@pytest.fixture(scope="module")
def settings(isolation: Isolation) -> Settings:
    return isolation.settings(sweeper_interval_s=0.2, sweeper_grace_s=GRACE_S)


@pytest.fixture(scope="module")
async def seat_pool(db: Database, settings: Settings) -> SeatPool:
    """A roomier concert than ``concert_id``: 2 zones × 2 rows × 50 seats."""
    concert = schema.seed(settings, layout=venue_layout(zones=2, seats_per_row=50, max_rows=2))
    return await SeatPool.of(db, concert.concert_ids[0])


@pytest.fixture(scope="module")
def deps(settings: Settings, db: Database, redis_client: aioredis.Redis) -> ExpiryDeps:
    return expiry_deps(settings, db, redis_client)


@pytest.fixture
async def drained(deps: ExpiryDeps) -> None:
    """Release whatever earlier tests left behind, so counts below are this test's own."""
    while await sweep_expired(deps, utcnow() + timedelta(days=1), 0, 1000):
        pass


def swept(metric_label: str = ReleasedBy.SWEEPER.value) -> float:
    value = REGISTRY.get_sample_value(
        "ticketlab_holds_released_total", {"released_by": metric_label}
    )
    return value or 0.0


async def test_releases_an_expired_hold_nobody_scheduled_and_ignores_the_rest(
    db: Database, deps: ExpiryDeps, seat_pool: SeatPool, drained: None
) -> None:
    now = utcnow()
    concert_id = seat_pool.concert_id
    long_expired = seat_pool.take(2)
    missed = await make_hold(db, concert_id, long_expired, now - timedelta(seconds=10))
    in_grace = await make_hold(db, concert_id, seat_pool.take(1), now - timedelta(seconds=0.5))
    unexpired = await make_hold(db, concert_id, seat_pool.take(1), now + timedelta(seconds=60))
    metric_before = swept()

    assert await sweep_expired(deps, now, GRACE_S, 100) == [missed]

    row = await hold_row(db, missed)
    assert (row["status"], row["released_by"]) == ("RELEASED", ReleasedBy.SWEEPER.value)
    assert from_db(row["released_at"]) == now
    assert await seat_statuses(db, long_expired) == {"AVAILABLE"}
    assert (await hold_row(db, in_grace))["status"] == "ACTIVE"
    assert (await hold_row(db, unexpired))["status"] == "ACTIVE"
    assert swept() - metric_before == 1
    assert await sweep_expired(deps, now, GRACE_S, 100) == []


async def test_expires_an_unpaid_reservation_and_leaves_a_paid_one(
    db: Database, deps: ExpiryDeps, seat_pool: SeatPool, drained: None
) -> None:
    concert_id = seat_pool.concert_id
    expires_at = utcnow() + timedelta(seconds=1)
    paid_seats, unpaid_seats = seat_pool.take(2), seat_pool.take(2)
    paid = await make_hold(db, concert_id, paid_seats, expires_at)
    unpaid = await make_hold(db, concert_id, unpaid_seats, expires_at)
    await convert(db, paid, paid=True)
    await convert(db, unpaid, paid=False)

    later = expires_at + timedelta(seconds=GRACE_S)
    assert await sweep_expired(deps, later - timedelta(milliseconds=1), GRACE_S, 100) == []
    assert await sweep_expired(deps, later, GRACE_S, 100) == [unpaid]

    assert await reservation_status(db, unpaid) == "EXPIRED"
    assert await seat_statuses(db, unpaid_seats) == {"AVAILABLE"}
    assert await reservation_status(db, paid) == "CONFIRMED"
    assert (await hold_row(db, paid))["status"] == "CONVERTED"
    assert await seat_statuses(db, paid_seats) == {"SOLD"}


async def test_two_sweepers_at_once_release_every_hold_exactly_once(
    db: Database,
    settings: Settings,
    redis_client: aioredis.Redis,
    seat_pool: SeatPool,
    drained: None,
) -> None:
    """Two workers, each with its own pool, sweeping small batches until nothing is left."""
    concert_id = seat_pool.concert_id
    expired_at = utcnow() - timedelta(seconds=30)
    holds = [await make_hold(db, concert_id, seat_pool.take(1), expired_at) for _ in range(60)]
    calls: Counter[int] = Counter()

    async def worker() -> list[int]:
        own = Database(await create_pool(settings.db, settings, size=2), settings.db_pool_timeout_s)
        deps = expiry_deps(settings, own, redis_client)
        counts = []
        try:
            while released := await sweep_expired(deps, utcnow(), GRACE_S, 7):
                calls.update(released)
                counts.append(len(released))
        finally:
            await own.close()
        return counts

    first, second = await asyncio.gather(worker(), worker())

    assert sum(first) + sum(second) == len(holds)
    assert set(calls) == set(holds) and set(calls.values()) == {1}
    rows = await db.fetch_all(
        "SELECT status, released_by, COUNT(*) AS n FROM holds"
        f" WHERE id IN ({', '.join(['%s'] * len(holds))}) GROUP BY status, released_by",
        holds,
    )
    assert [(r["status"], r["released_by"], r["n"]) for r in rows] == [
        ("RELEASED", ReleasedBy.SWEEPER.value, len(holds))
    ]


async def test_redis_gate_keys_of_a_swept_hold_are_opened(
    db: Database,
    isolation: Isolation,
    seat_pool: SeatPool,
    redis_client: aioredis.Redis,
    drained: None,
) -> None:
    gate_settings = isolation.settings(claim_strategy="redis-gate")
    seats = seat_pool.take(2)
    hold_id = await make_hold(db, seat_pool.concert_id, seats, utcnow() - timedelta(seconds=5))
    keys = [gate_key(gate_settings, seat_pool.concert_id, seat.id) for seat in seats]
    bystander = gate_key(gate_settings, seat_pool.concert_id, seat_pool.seats[0].id)
    for key in [*keys, bystander]:
        await redis_client.set(key, "token", px=60_000)

    deps = expiry_deps(gate_settings, db, redis_client)
    assert await sweep_expired(deps, utcnow(), GRACE_S, 100) == [hold_id]

    assert (await hold_row(db, hold_id))["status"] == "RELEASED"
    assert await redis_client.exists(*keys) == 0
    assert await redis_client.exists(bystander) == 1
    await redis_client.delete(bystander)


async def test_gates_are_left_alone_under_other_strategies(
    db: Database,
    deps: ExpiryDeps,
    settings: Settings,
    seat_pool: SeatPool,
    redis_client: aioredis.Redis,
    drained: None,
) -> None:
    assert settings.claim_strategy != "redis-gate"
    seats = seat_pool.take(1)
    hold_id = await make_hold(db, seat_pool.concert_id, seats, utcnow() - timedelta(seconds=5))
    key = gate_key(settings, seat_pool.concert_id, seats[0].id)
    await redis_client.set(key, "token", px=60_000)

    assert await sweep_expired(deps, utcnow(), GRACE_S, 100) == [hold_id]

    assert await redis_client.exists(key) == 1
    await redis_client.delete(key)


async def test_the_periodic_sweeper_catches_a_miss_and_closes_cleanly(
    db: Database, deps: ExpiryDeps, settings: Settings, seat_pool: SeatPool, drained: None
) -> None:
    concert_id = seat_pool.concert_id
    hold_id = await make_hold(db, concert_id, seat_pool.take(1), utcnow() - timedelta(seconds=5))
    sweeper = Sweeper(settings, deps)
    await sweeper.start()
    try:
        assert sweeper.running
        await wait_until(released(db, hold_id), what=f"hold {hold_id} swept")

        async def counted() -> bool:  # the tick counts once its transaction has committed
            return sweeper.released_total >= 1

        await wait_until(counted, within=10, what="the sweep counted")
    finally:
        await sweeper.close()
    assert not sweeper.running
    assert (await hold_row(db, hold_id))["released_by"] == ReleasedBy.SWEEPER.value
