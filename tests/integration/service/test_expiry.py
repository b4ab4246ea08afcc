"""Hold expiry through a real RabbitMQ vhost and MariaDB database, with the sweeper off.

Holds are written with the bookings SQL directly, so these tests exercise the broker path
alone: schedule → delay queue → release queue → consumer → one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aio_pika
import pytest
import redis.asyncio as aioredis
from aio_pika.abc import AbstractRobustConnection

from service.adapters import amqp
from service.adapters.db import Database, from_db
from service.adapters.expiry import ExpiryNotice, RabbitExpiryScheduler
from service.bootstrap import expiry_deps
from service.config import Settings
from service.domain.errors import Contention
from service.domain.holds import ReleasedBy
from service.jobs.expiry import ExpiryConsumer
from service.jobs.sweeper import Sweeper
from service.usecases.expiry import ExpiryDeps, expire_hold
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

WAIT_S = 30.0


# --- fixtures -------------------------------------------------------------------------------


class ScriptedRelease:
    """The real ``expire_hold``, recording each call, optionally failing first."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []
        self.failures: dict[int, int] = {}

    async def __call__(self, deps: ExpiryDeps, hold_id: int, by: ReleasedBy, now: datetime) -> bool:
        if self.failures.get(hold_id, 0) > 0:
            self.failures[hold_id] -= 1
            self.calls.append((hold_id, False))
            raise Contention("lock-wait-timeout")
        result = await expire_hold(deps, hold_id, by, now)
        self.calls.append((hold_id, result))
        return result

    def results_for(self, hold_id: int) -> list[bool]:
        return [result for hid, result in self.calls if hid == hold_id]


@pytest.fixture(scope="module")
def settings(isolation: Isolation) -> Settings:
    return isolation.settings(sweeper_enabled=False)


@pytest.fixture(scope="module")
async def connection(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    conn = await amqp.connect(settings)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def seat_pool(db: Database, concert_id: int) -> SeatPool:
    return await SeatPool.of(db, concert_id)


@pytest.fixture(scope="module")
def release() -> ScriptedRelease:
    return ScriptedRelease()


@pytest.fixture(scope="module")
def deps(settings: Settings, db: Database, redis_client: aioredis.Redis) -> ExpiryDeps:
    return expiry_deps(settings, db, redis_client)


@pytest.fixture(scope="module")
async def consumer(
    settings: Settings,
    connection: AbstractRobustConnection,
    deps: ExpiryDeps,
    release: ScriptedRelease,
) -> AsyncIterator[ExpiryConsumer]:
    consumer = ExpiryConsumer(settings, connection, deps, expire=release)
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.close()


@pytest.fixture(scope="module")
async def scheduler(
    settings: Settings, connection: AbstractRobustConnection
) -> AsyncIterator[RabbitExpiryScheduler]:
    scheduler = RabbitExpiryScheduler(settings, connection)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.close()


# --- tests ----------------------------------------------------------------------------------


async def test_a_one_second_hold_is_released_by_the_consumer_not_before_it_expires(
    db: Database,
    concert_id: int,
    seat_pool: SeatPool,
    consumer: ExpiryConsumer,
    scheduler: RabbitExpiryScheduler,
) -> None:
    seats = seat_pool.take(2)
    expires_at = utcnow() + timedelta(seconds=1)
    hold_id = await make_hold(db, concert_id, seats, expires_at)
    await scheduler.schedule(hold_id, expires_at)

    await wait_until(released(db, hold_id), what=f"hold {hold_id} released")

    row = await hold_row(db, hold_id)
    assert row["released_by"] == ReleasedBy.CONSUMER.value
    assert from_db(row["released_at"]) >= from_db(row["expires_at"])
    assert await seat_statuses(db, seats) == {"AVAILABLE"}


async def test_an_early_message_is_redelayed_not_dropped(
    db: Database,
    concert_id: int,
    seat_pool: SeatPool,
    consumer: ExpiryConsumer,
    scheduler: RabbitExpiryScheduler,
) -> None:
    seats = seat_pool.take(1)
    expires_at = utcnow() + timedelta(seconds=1.5)
    hold_id = await make_hold(db, concert_id, seats, expires_at)
    redelayed_before = consumer.outcomes["redelayed"]
    # Straight onto the release queue, as if the clock or the rounding had been off.
    queue = await scheduler.publish(ExpiryNotice(hold_id, expires_at), 0)
    assert queue == amqp.release_queue_name(consumer.settings)

    await wait_until(released(db, hold_id), what=f"hold {hold_id} released")

    assert consumer.outcomes["redelayed"] > redelayed_before
    row = await hold_row(db, hold_id)
    assert row["released_by"] == ReleasedBy.CONSUMER.value
    assert from_db(row["released_at"]) >= expires_at


async def test_a_paid_hold_is_left_alone_and_an_unpaid_reservation_expires(
    db: Database,
    concert_id: int,
    seat_pool: SeatPool,
    consumer: ExpiryConsumer,
    scheduler: RabbitExpiryScheduler,
    release: ScriptedRelease,
) -> None:
    paid_seats, unpaid_seats = seat_pool.take(2), seat_pool.take(2)
    expires_at = utcnow() + timedelta(seconds=1)
    paid = await make_hold(db, concert_id, paid_seats, expires_at)
    unpaid = await make_hold(db, concert_id, unpaid_seats, expires_at)
    await convert(db, paid, paid=True)
    await convert(db, unpaid, paid=False)
    await scheduler.schedule(paid, expires_at)
    await scheduler.schedule(unpaid, expires_at)

    async def both_handled() -> bool:
        return bool(release.results_for(paid)) and bool(release.results_for(unpaid))

    await wait_until(both_handled, what="both notices handled")

    assert release.results_for(paid) == [False]
    assert (await hold_row(db, paid))["status"] == "CONVERTED"
    assert await reservation_status(db, paid) == "CONFIRMED"
    assert await seat_statuses(db, paid_seats) == {"SOLD"}

    assert release.results_for(unpaid) == [True]
    assert await reservation_status(db, unpaid) == "EXPIRED"
    assert await seat_statuses(db, unpaid_seats) == {"AVAILABLE"}


async def test_malformed_messages_are_dead_lettered_and_the_consumer_carries_on(
    db: Database,
    concert_id: int,
    seat_pool: SeatPool,
    connection: AbstractRobustConnection,
    consumer: ExpiryConsumer,
    scheduler: RabbitExpiryScheduler,
) -> None:
    settings = consumer.settings
    rejected_before = consumer.outcomes["rejected"]
    garbage = [
        b"not json at all",
        b'{"hold_id": "seven", "expires_at": "2030-01-01T00:00:00+00:00"}',
        b'{"hold_id": 7, "expires_at": "yesterday"}',
        b"[1, 2, 3]",
    ]
    async with connection.channel() as channel:
        for body in garbage:
            await channel.default_exchange.publish(
                aio_pika.Message(body), routing_key=amqp.release_queue_name(settings)
            )
    seats = seat_pool.take(1)
    expires_at = utcnow() + timedelta(seconds=0.3)
    hold_id = await make_hold(db, concert_id, seats, expires_at)
    await scheduler.schedule(hold_id, expires_at)

    await wait_until(released(db, hold_id), what=f"hold {hold_id} released after garbage")

    assert consumer.outcomes["rejected"] - rejected_before == len(garbage)
    async with connection.channel() as channel:
        dead = await channel.declare_queue(amqp.dead_queue_name(settings), passive=True)
        bodies = []
        while (message := await dead.get(no_ack=True, fail=False)) is not None:
            bodies.append(message.body)
    assert sorted(bodies) == sorted(garbage)


async def test_a_failed_release_is_retried_after_a_pause_not_dropped(
    db: Database,
    concert_id: int,
    seat_pool: SeatPool,
    consumer: ExpiryConsumer,
    scheduler: RabbitExpiryScheduler,
    release: ScriptedRelease,
) -> None:
    seats = seat_pool.take(1)
    expires_at = utcnow() + timedelta(seconds=0.2)
    hold_id = await make_hold(db, concert_id, seats, expires_at)
    release.failures[hold_id] = 2
    retried_before = consumer.outcomes["retried"]
    await scheduler.schedule(hold_id, expires_at)

    await wait_until(released(db, hold_id), what=f"hold {hold_id} released after retries")

    assert release.results_for(hold_id) == [False, False, True]
    assert consumer.outcomes["retried"] - retried_before == 2
    assert (await hold_row(db, hold_id))["released_by"] == ReleasedBy.CONSUMER.value


async def test_broker_names_carry_the_key_prefix(
    settings: Settings, connection: AbstractRobustConnection, scheduler: RabbitExpiryScheduler
) -> None:
    ttl_queue = await scheduler.publish(
        ExpiryNotice(999_999_999, utcnow() + timedelta(days=1)), settings.hold_ttl_s
    )
    assert ttl_queue == amqp.delay_queue_name(settings, int(settings.hold_ttl_s * 1000))
    names = [
        ttl_queue,
        amqp.release_queue_name(settings),
        amqp.dead_queue_name(settings),
        amqp.delay_queue_name(settings, 1000),
    ]
    assert all(name.startswith(settings.key_prefix + ":") for name in names)
    async with connection.channel() as channel:
        for name in names[:3]:  # declared by now; passive declare fails if missing
            await channel.declare_queue(name, passive=True)
        # Purge the far-future notice so it cannot outlive this module's vhost anyway.
        await (await channel.declare_queue(ttl_queue, passive=True)).purge()


async def test_sweeper_stays_off_when_disabled(settings: Settings, deps: ExpiryDeps) -> None:
    sweeper = Sweeper(settings, deps)
    await sweeper.start()
    assert not sweeper.running
    await sweeper.close()
