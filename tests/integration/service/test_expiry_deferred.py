"""The expiry notice is published beside the request (``DeferredExpiryScheduler``): a hold
is granted while its publish hangs or fails, and the sweeper still releases it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import aio_pika
import pytest
import redis.asyncio as aioredis

from service import schema
from service.adapters.db import Database
from service.adapters.deferred_expiry import DeferredExpiryScheduler
from service.adapters.expiry import RabbitExpiryScheduler
from service.bootstrap import booking_deps, expiry_deps
from service.config import Settings
from service.domain.holds import ReleasedBy
from service.domain.venue import venue_layout
from service.jobs.sweeper import Sweeper
from service.ports import HoldExpiryScheduler
from service.usecases.holds import place_hold
from tests.integration.service.test_holds_usecase import create_members
from tests.support.holds import hold_row, released
from tests.support.isolation import Isolation
from tests.support.waiting import wait_until

TTL_S = 1.0


class HangingScheduler(HoldExpiryScheduler):
    """A broker that never confirms: every publish waits until it is cancelled."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.cancelled = 0

    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        self.started.append(hold_id)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


@pytest.fixture(scope="module")
def settings(isolation: Isolation) -> Settings:
    return isolation.settings(hold_ttl_s=TTL_S, sweeper_interval_s=0.2, sweeper_grace_s=0.5)


@pytest.fixture(scope="module")
def concert(settings: Settings) -> int:
    return schema.seed(settings, layout=venue_layout(1, 10, 1), ticket_limit=10).concert_ids[0]


@pytest.fixture
async def sweeper(
    settings: Settings, db: Database, redis_client: aioredis.Redis
) -> AsyncIterator[Sweeper]:
    job = Sweeper(settings, expiry_deps(settings, db, redis_client))
    await job.start()
    try:
        yield job
    finally:
        await job.close()


async def seat(db: Database, concert_id: int, index: int) -> int:
    rows = await db.fetch_all(
        "SELECT id FROM seats WHERE concert_id = %s ORDER BY id", (concert_id,)
    )
    return int(rows[index]["id"])


async def test_a_hold_is_granted_while_its_publish_hangs_and_the_sweeper_releases_it(
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    concert: int,
    sweeper: Sweeper,
) -> None:
    hanging = HangingScheduler()
    deferred = DeferredExpiryScheduler(hanging)
    deps = booking_deps(settings, db, redis_client, deferred)
    (member,) = await create_members(db, 1)

    hold = await place_hold(deps, member, concert, [await seat(db, concert, 0)])

    assert deferred.pending == 1  # granted with its publish still in flight
    await wait_until(lambda: _true(hanging.started == [hold.id]), what="the publish started")
    await wait_until(released(db, hold.id), within=15, what=f"hold {hold.id} swept")
    assert (await hold_row(db, hold.id))["released_by"] == ReleasedBy.SWEEPER.value
    await deferred.close(timeout_s=0.1)
    assert deferred.pending == 0
    assert hanging.cancelled == 1


async def test_a_publish_on_a_dead_broker_connection_fails_and_the_hold_still_expires(
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    concert: int,
    sweeper: Sweeper,
) -> None:
    connection = await aio_pika.connect_robust(settings.amqp_url)
    await connection.close()  # the publish is killed: its connection is gone
    deferred = DeferredExpiryScheduler(RabbitExpiryScheduler(settings, connection))
    deps = booking_deps(settings, db, redis_client, deferred)
    (member,) = await create_members(db, 1)

    hold = await place_hold(deps, member, concert, [await seat(db, concert, 1)])

    await wait_until(lambda: _true(deferred.failed == 1), what="the publish failed")
    await wait_until(released(db, hold.id), within=15, what=f"hold {hold.id} swept")
    assert (await hold_row(db, hold.id))["released_by"] == ReleasedBy.SWEEPER.value
    await deferred.close()


async def _true(value: bool) -> bool:
    return value
