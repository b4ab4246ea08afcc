"""Lost connections to MariaDB and Redis are retryable 503s, never 500s or hangs.

MariaDB's side is real: the service's own sessions are killed with ``KILL CONNECTION`` (as
the admin account) while it serves concurrent holds. Redis's side uses a server that
accepts connections and never answers (a paused Redis), since the machine's Redis is
shared and must not be paused.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import aiomysql
import pytest

from service import schema
from service.adapters.db import Database, create_pool, is_closed
from service.adapters.oauth_state import OAuthStateStore, PendingLogin, new_state
from service.bootstrap import DB, booking_deps, redis_client
from service.config import Settings
from service.domain.errors import Contention
from service.domain.venue import venue_layout
from service.http.problems import PROBLEM_JSON, from_domain_error
from service.ports import HoldExpiryScheduler
from service.usecases.holds import place_hold
from tests.support.http import call
from tests.support.payments import Member, new_member
from tests.support.processes import free_port
from tests.support.servers import serving

MEMBERS = 24
ROUNDS = 3
KILL_EVERY_S = 0.05
HANG_S = 30.0  # only a guard against hanging for ever; the settings bound the real wait


class NoExpiry(HoldExpiryScheduler):
    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        raise AssertionError("no hold should be granted")


@pytest.fixture(scope="module")
async def admin(settings: Settings) -> AsyncIterator[Database]:
    """The admin account, on this module's database: it kills sessions and checks rows."""
    database = Database(await create_pool(settings.db_admin, settings, size=2), 5.0)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
def concert(settings: Settings) -> int:
    layout = venue_layout(zones=1, seats_per_row=20, max_rows=3)
    return schema.seed(settings, layout=layout, ticket_limit=4).concert_ids[0]


async def sessions_of(admin: Database, user: str) -> list[int]:
    rows = await admin.fetch_all(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (user,)
    )
    return [row["ID"] for row in rows]


async def kill(admin: Database, session_ids: list[int]) -> int:
    killed = 0
    for session_id in session_ids:
        try:
            await admin.fetch_one(f"KILL CONNECTION {int(session_id)}")
            killed += 1
        except Exception:  # it ended by itself in the meantime
            pass
    return killed


async def test_a_killed_session_is_contention_and_its_connection_leaves_the_pool(
    settings: Settings, admin: Database
) -> None:
    db = Database(await create_pool(settings.db, settings, size=2), settings.db_pool_timeout_s)
    try:
        with pytest.raises(Contention) as lost:
            async with db.session() as session:
                await session.cursor.execute("SELECT CONNECTION_ID() AS id")
                session_id = (await session.cursor.fetchone())["id"]
                await kill(admin, [session_id])
                await session.cursor.execute("SELECT 1")
        assert lost.value.reason == "database-connection-lost"
        assert not any(is_closed(conn) for conn in db.pool._free)
        async with db.transaction() as cur:  # the pool opens a fresh one
            await cur.execute("SELECT CONNECTION_ID() AS id")
            assert (await cur.fetchone())["id"] != session_id
    finally:
        await db.close()


async def test_a_server_the_pool_cannot_reach_is_contention_not_a_crash() -> None:
    """A pool whose server went away after start-up: it has no connection left to lend."""
    pool = await aiomysql.create_pool(
        host="127.0.0.1", port=free_port(), user="nobody", db="x", minsize=0, maxsize=1
    )
    db = Database(pool, 2.0)
    try:
        with pytest.raises(Contention) as unreachable:
            async with db.transaction():
                pass
        assert unreachable.value.reason == "database-unreachable"
        assert "127.0.0.1" not in str(unreachable.value)
    finally:
        await db.close()


async def test_killed_sessions_under_concurrent_holds_answer_201_409_or_503_and_nothing_twice(
    http: aiohttp.ClientSession,
    settings: Settings,
    db: Database,
    admin: Database,
    concert: int,
) -> None:
    seats = [
        r["id"]
        for r in await admin.fetch_all(
            "SELECT id FROM seats WHERE concert_id = %s ORDER BY id", (concert,)
        )
    ]
    members = [await new_member(db, settings) for _ in range(MEMBERS + 1)]
    latecomer = members.pop()
    statuses: Counter[int] = Counter()
    retry_afters: set[str] = set()
    killing = True
    kills = 0

    async def killer() -> None:
        nonlocal kills
        while killing:
            kills += await kill(admin, await sessions_of(admin, settings.db.user))
            await asyncio.sleep(KILL_EVERY_S)

    async def hold(member: Member, seat_ids: list[int]) -> None:
        status, body, response = await call(
            http,
            "POST",
            f"{service.url}/api/v1/concerts/{concert}/holds",
            json={"seat_ids": seat_ids},
            headers=member.headers,
        )
        statuses[status] += 1
        if status == 503:
            assert response.content_type == PROBLEM_JSON
            assert body["type"].endswith("/contention"), body
            retry_afters.add(response.headers["Retry-After"])

    async with serving(settings) as service:
        killing_task = asyncio.create_task(killer())
        try:
            for round_ in range(ROUNDS):
                # Two members want each seat pair, so some must be refused with a 409.
                await asyncio.gather(
                    *(
                        hold(m, seats[(i // 2 + round_ * 12) % 36 :][:1])
                        for i, m in enumerate(members)
                    )
                )
        finally:
            killing = False
            await killing_task

        assert kills > 0
        assert set(statuses) <= {201, 409, 503}, statuses
        assert retry_afters <= {"1"}
        recovered, body, _ = await call(
            http,
            "POST",
            f"{service.url}/api/v1/concerts/{concert}/holds",
            json={"seat_ids": [seats[-1]]},
            headers=latecomer.headers,
        )
        assert recovered == 201, body
        ready, _, _ = await call(http, "GET", f"{service.url}/readyz")
        assert ready == 200
        assert not any(is_closed(conn) for conn in service.app[DB].pool._free)
    print(f"connection loss: {dict(statuses)} after {kills} kills")

    doubles = await admin.fetch_all(
        "SELECT hs.seat_id FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id"
        " WHERE h.status = 'ACTIVE' AND hs.released_at IS NULL"
        " GROUP BY hs.seat_id HAVING COUNT(*) > 1"
    )
    assert doubles == []
    strays = await admin.fetch_one(
        "SELECT COUNT(*) AS n FROM seats s WHERE s.status = 'HELD' AND NOT EXISTS ("
        " SELECT 1 FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id"
        " WHERE h.id = s.hold_id AND hs.seat_id = s.id AND h.status = 'ACTIVE')"
    )
    assert strays == {"n": 0}


async def never_answering_server() -> tuple[asyncio.Server, int]:
    """Accepts connections and reads, but never writes: a Redis that is paused."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def paused_redis(settings: Settings) -> AsyncIterator[Settings]:
    server, port = await never_answering_server()
    try:
        yield dataclasses.replace(
            settings,
            redis_url=f"redis://127.0.0.1:{port}/0",
            redis_socket_timeout_s=0.3,
            redis_connect_timeout_s=0.3,
        )
    finally:
        server.close()
        await server.wait_closed()


def test_redis_waits_are_bounded_by_the_settings(settings: Settings) -> None:
    tuned = dataclasses.replace(settings, redis_connect_timeout_s=0.7, redis_socket_timeout_s=1.3)
    kwargs = redis_client(tuned).connection_pool.connection_kwargs
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (0.7, 1.3)


async def test_a_paused_redis_is_a_retryable_503_for_a_redis_lock_claim_not_a_hang(
    paused_redis: Settings, admin: Database, concert: int
) -> None:
    tuned = dataclasses.replace(paused_redis, claim_strategy="redis-lock")
    client = redis_client(tuned)
    member = await new_member(admin, tuned)
    seat = await admin.fetch_one(
        "SELECT id FROM seats WHERE concert_id = %s AND status = 'AVAILABLE' ORDER BY id DESC",
        (concert,),
    )
    assert seat is not None
    deps = booking_deps(tuned, admin, client, NoExpiry())
    try:
        with pytest.raises(Contention) as busy:
            await asyncio.wait_for(place_hold(deps, member.id, concert, [seat["id"]]), HANG_S)
    finally:
        await client.aclose()
        await client.connection_pool.aclose()
    response = from_domain_error(busy.value)
    assert (response.status, response.headers["Retry-After"]) == (503, "1")


async def test_a_paused_redis_is_a_retryable_503_at_sign_in(paused_redis: Settings) -> None:
    client = redis_client(paused_redis)
    store = OAuthStateStore(client, paused_redis)
    try:
        with pytest.raises(Contention):
            pending = PendingLogin.new("http://127.0.0.1/cb")
            await asyncio.wait_for(store.put(new_state(), pending), HANG_S)
    finally:
        await client.aclose()
        await client.connection_pool.aclose()
