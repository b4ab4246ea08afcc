"""The generic deliberate defects, each observed when on and absent when off.

- ``memory-leak``: the request-journal middleware keeps every request; memory grows with
  the number of requests (measured with tracemalloc across requests through the real app).
- ``pool-leak``: a refused hold's transaction keeps its pooled connection; the pool's free
  count drops by one per refusal until acquiring a connection times out.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession

from service.adapters.claims import build_claimer
from service.adapters.db import Database, create_pool
from service.bootstrap import DB
from service.config import Settings
from service.domain.errors import Contention, SeatsTaken
from service.http import defects
from service.http.app import init_app
from service.ports import ClaimRequest
from tests.support.servers import serving, started_app

REQUESTS = 200
BODY = json.dumps({"seat_ids": [1], "padding": "x" * 2000}).encode()
POOL_SIZE = 6


@asynccontextmanager
async def app_server(settings: Settings) -> AsyncIterator[str]:
    async with serving(settings) as service:
        yield service.url


async def post_many(url: str, concert_id: int, n: int) -> None:
    async with ClientSession() as session:
        for _ in range(n):
            async with session.post(
                f"{url}/api/v1/concerts/{concert_id}/holds",
                data=BODY,
                headers={"Content-Type": "application/json"},
            ) as answer:
                assert answer.status == 401  # no token: refused, but the request was served
                await answer.read()


async def memory_growth(settings: Settings, concert_id: int) -> tuple[int, int]:
    """(bytes still allocated after REQUESTS requests, journal entries added)."""
    async with app_server(settings) as url:
        await post_many(url, concert_id, 20)  # warm up: imports, pools, caches
        journal_before = len(defects.REQUEST_JOURNAL)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await post_many(url, concert_id, REQUESTS)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        return after - before, len(defects.REQUEST_JOURNAL) - journal_before


async def test_memory_leak_on_keeps_every_request(settings: Settings, concert_id: int) -> None:
    on = dataclasses.replace(settings, defects=frozenset({"memory-leak"}))
    defects.REQUEST_JOURNAL.clear()
    try:
        grown, kept = await memory_growth(on, concert_id)
    finally:
        defects.REQUEST_JOURNAL.clear()
    assert kept == REQUESTS
    assert grown >= REQUESTS * len(BODY), f"only {grown} bytes retained"


async def test_memory_leak_off_keeps_nothing(settings: Settings, concert_id: int) -> None:
    defects.REQUEST_JOURNAL.clear()
    grown, kept = await memory_growth(settings, concert_id)
    assert kept == 0
    assert grown < REQUESTS * len(BODY) / 4, f"{grown} bytes retained without the defect"


def test_the_journal_middleware_is_installed_only_with_the_defect(settings: Settings) -> None:
    on = dataclasses.replace(settings, defects=frozenset({"memory-leak"}))
    assert defects.request_journal_middleware in init_app(on).middlewares
    assert defects.request_journal_middleware not in init_app(settings).middlewares


# ---- pool-leak -------------------------------------------------------------------------


@asynccontextmanager
async def small_pool(settings: Settings, *, leak: bool) -> AsyncIterator[Database]:
    pool = await create_pool(settings.db, settings, size=POOL_SIZE)
    db = Database(pool, acquire_timeout_s=0.5, leak_on_refusal=leak)
    try:
        yield db
    finally:
        await db.close()


async def refuse_holds(
    settings: Settings, db: Database, redis_client: aioredis.Redis, concert_id: int, n: int
) -> None:
    """One hold granted, then ``n`` holds on the same seat refused (SeatsTaken)."""
    seat = await db.fetch_one(
        "SELECT id FROM seats WHERE concert_id = %s AND status = 'AVAILABLE' ORDER BY id LIMIT 1",
        (concert_id,),
    )
    assert seat is not None
    claimer = build_claimer("conditional", settings, db, redis_client)
    now = datetime.now(UTC)

    def request(member_id: int) -> ClaimRequest:
        return ClaimRequest(concert_id, member_id, (seat["id"],), now, now + timedelta(minutes=5))

    await claimer.claim(request(1))
    for _ in range(n):
        with pytest.raises(SeatsTaken):
            await claimer.claim(request(2))


@pytest.fixture(scope="module")
def members(settings: Settings) -> None:
    from service import schema

    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        for member_id in (1, 2):
            cur.execute(
                "INSERT INTO members (id, issuer, subject, created_at, last_login_at)"
                " VALUES (%s, 'test', %s, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
                (member_id, f"m{member_id}"),
            )
        conn.commit()


async def test_pool_leak_on_loses_a_connection_per_refused_hold(
    settings: Settings, concert_id: int, redis_client: aioredis.Redis, members: None
) -> None:
    async with small_pool(settings, leak=True) as db:
        await refuse_holds(settings, db, redis_client, concert_id, POOL_SIZE - 1)
        assert db.leaked == POOL_SIZE - 1
        assert db.in_use == POOL_SIZE - 1
        assert db.pool.freesize <= 1
        await refuse_holds_until_exhausted(settings, db, redis_client, concert_id)


async def refuse_holds_until_exhausted(
    settings: Settings, db: Database, redis_client: aioredis.Redis, concert_id: int
) -> None:
    """One more refusal takes the last connection; then every request waits and gets a 503."""
    claimer = build_claimer("conditional", settings, db, redis_client)
    now = datetime.now(UTC)
    row = await db.fetch_one(
        "SELECT hold_id FROM seats WHERE concert_id = %s AND status = 'HELD' LIMIT 1",
        (concert_id,),
    )
    assert row is not None
    taken = await db.fetch_one(
        "SELECT seat_id FROM hold_seats WHERE hold_id = %s", (row["hold_id"],)
    )
    assert taken is not None
    with pytest.raises(SeatsTaken):
        await claimer.claim(
            ClaimRequest(concert_id, 2, (taken["seat_id"],), now, now + timedelta(minutes=5))
        )
    assert db.in_use == POOL_SIZE
    with pytest.raises(Contention) as refused:
        await db.fetch_one("SELECT 1 AS one")
    assert refused.value.reason == "pool-acquire-timeout"


async def test_pool_leak_off_returns_every_connection(
    settings: Settings, concert_id: int, redis_client: aioredis.Redis, members: None
) -> None:
    async with small_pool(settings, leak=False) as db:
        await refuse_holds(settings, db, redis_client, concert_id, POOL_SIZE * 2)
        assert db.leaked == 0
        assert db.in_use == 0
        assert db.pool.freesize == db.pool.size
        assert await db.fetch_one("SELECT 1 AS one") == {"one": 1}


async def test_the_app_switches_the_pool_leak_on_only_with_the_defect(settings: Settings) -> None:
    for names, expected in ((frozenset(), False), (frozenset({"pool-leak"}), True)):
        app = init_app(dataclasses.replace(settings, defects=names))
        async with started_app(app):
            assert app[DB].leak_on_refusal is expected
