"""Read policies against a real primary and replica (the lab's pair, a private stack).

The service runs in this event loop with each policy in turn; lag is injected by stopping
the replica's SQL thread (lag then grows without bound, so "behind" is never a matter of
timing). A member holds a seat on the primary, then reads the seat map: under ``replica``
the read is stale (the seat still free) and says it came from the replica with its lag;
under ``read-your-writes`` the member sees their own hold (the wait for its GTID times out,
so the primary answers) while others still read the replica; ``bounded-staleness`` leaves
the replica once the lag passes its bound and returns once it clears. The availability
read model is off (seat maps from the database the policy picks) except in the last test,
where seat maps come from it (``cache``) and a member's reservations are still routed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pymysql
import pytest

from scenarios.faults import replication
from scenarios.stack import Stack, StackInfo
from scenarios.stack.net import choose_port
from scenarios.stack.paths import LabPaths
from scenarios.stack.stack import PRIMARY, REDIS, REPLICA
from scenarios.stack.state import LabState, PartRecord, save_state
from service import schema
from service.adapters.tokens import AccessTokens
from service.config import Settings
from service.domain.venue import venue_layout
from tests.support.isolation import AMQP_BASE
from tests.support.servers import serving
from tests.support.waiting import wait_until, wait_until_sync

ZONE = "A"


@pytest.fixture(scope="module")
def info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    lab = tmp_path_factory.mktemp("lab")
    state, taken = LabState(), []
    for part in (PRIMARY, REPLICA, REDIS):
        taken.append(choose_port((), taken))
        state.parts[part] = PartRecord(part, "", taken[-1])
    save_state(LabPaths.at(lab), state)
    stack = Stack(
        lab, environ={"TICKETLAB_AMQP_URL": AMQP_BASE}, vhost=f"tl_{secrets.token_hex(4)}"
    )
    try:
        yield stack.up()
    finally:
        stack.down(purge=True)


@pytest.fixture(scope="module")
def concert(info: StackInfo) -> int:
    settings = info.settings()
    schema.drop_database(settings)
    schema.migrate(settings)
    seeded = schema.seed(settings, layout=venue_layout(1, 10, 1))
    concert_id = seeded.concert_ids[0]

    def replica_has_it() -> bool:
        """The service's user, its grants and the seats, replicated: a service started
        before would be refused by the replica ('Access denied'), as one test was."""
        try:
            with schema.connect(settings.replica) as conn, conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM seats WHERE concert_id = %s", (concert_id,))
                row = cur.fetchone()
        except pymysql.MySQLError:
            return False
        return bool(row and row[0])

    wait_until_sync(replica_has_it, within=30, what="the replica to catch up with the seed")
    return concert_id


@pytest.fixture(scope="module")
def replica_port(info: StackInfo) -> int:
    port = info.parts[REPLICA].port
    assert port is not None
    return port


@pytest.fixture
def sql_thread(replica_port: int) -> Iterator[dict[str, bool]]:
    """``stop()`` the replica's SQL thread; it runs again after the test whatever happened."""
    stopped = {"now": False}
    yield stopped
    replication.start_sql_thread(replica_port)


def policy_settings(info: StackInfo, policy: str, **extra: Any) -> Settings:
    extra.setdefault("read_model", False)
    return info.settings(
        read_policy=policy,
        key_prefix=f"rp{secrets.token_hex(3)}",
        max_staleness_ms=800,
        read_wait_timeout_s=0.3,
        hold_ttl_s=120,
        **extra,
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Reader:
    """One member (or nobody) reading a service's seat map."""

    def __init__(self, http: aiohttp.ClientSession, url: str, settings: Settings) -> None:
        self.http, self.url, self.settings = http, url, settings

    def token(self, member_id: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {AccessTokens(self.settings).issue(member_id)}"}

    async def seat_map(
        self, concert: int, member_id: int | None = None
    ) -> tuple[dict[int, str], str, int]:
        headers = self.token(member_id) if member_id is not None else {}
        url = f"{self.url}/api/v1/concerts/{concert}/zones/{ZONE}/seats"
        async with self.http.get(url, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            seats = {s["id"]: s["status"] for s in (await answer.json())["seats"]}
            source, age = answer.headers["X-Read-Source"], int(answer.headers["X-Read-Age-Ms"])
            return seats, source, age

    async def hold(self, concert: int, member_id: int, seat: int) -> None:
        url = f"{self.url}/api/v1/concerts/{concert}/holds"
        body = {"seat_ids": [seat]}
        async with self.http.post(url, json=body, headers=self.token(member_id)) as answer:
            assert answer.status == 201, await answer.text()

    async def free_seat(self, concert: int) -> int:
        seats, _, _ = await self.seat_map(concert)
        # The primary decides what is free: any policy's seat map may lag, so ask the
        # database through a member-less read only after replication caught up.
        return next(seat for seat, status in sorted(seats.items()) if status == "AVAILABLE")

    async def until_replica_shows(self, concert: int, seat: int, status: str) -> None:
        async def shown() -> bool:
            seats, source, _ = await self.seat_map(concert)
            return source == "replica" and seats[seat] == status

        await wait_until(shown, within=30, what=f"the replica to show seat {seat} {status}")


@pytest.fixture
def member(info: StackInfo, concert: int) -> Callable[[], int]:
    """Makes members as sign-in would (a row in ``members``); their ids."""

    def make() -> int:
        with schema.connect(info.settings().db_admin) as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO members (issuer, subject, created_at, last_login_at)"
                " VALUES ('test', %s, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
                (uuid.uuid4().hex,),
            )
            conn.commit()
            return int(cur.lastrowid)

    return make


async def test_replica_reads_are_stale_under_lag_and_say_where_and_how_old(
    info: StackInfo,
    concert: int,
    replica_port: int,
    sql_thread: dict,
    http: aiohttp.ClientSession,
    member: Callable[[], int],
) -> None:
    settings = policy_settings(info, "replica")
    async with serving(settings) as service:
        reads = Reader(http, service.url, settings)
        seat = await reads.free_seat(concert)
        replication.stop_sql_thread(replica_port)
        buyer = member()
        await reads.hold(concert, buyer, seat)
        seats, source, _ = await reads.seat_map(concert, buyer)
        assert (seats[seat], source) == ("AVAILABLE", "replica")  # stale, even for the buyer

        async def lag_shows() -> bool:
            return (await reads.seat_map(concert))[2] >= 500

        await wait_until(lag_shows, within=10, what="X-Read-Age-Ms to grow with the lag")
        replication.start_sql_thread(replica_port)
        await reads.until_replica_shows(concert, seat, "HELD")


async def test_read_your_writes_shows_a_member_their_own_write_and_others_the_replica(
    info: StackInfo,
    concert: int,
    replica_port: int,
    sql_thread: dict,
    http: aiohttp.ClientSession,
    member: Callable[[], int],
) -> None:
    settings = policy_settings(info, "read-your-writes")
    async with serving(settings) as service:
        reads = Reader(http, service.url, settings)
        seat = await reads.free_seat(concert)
        buyer, other = member(), member()
        await reads.hold(concert, buyer, seat)  # replication running: the wait succeeds
        seats, source, _ = await reads.seat_map(concert, buyer)
        assert (seats[seat], source) == ("HELD", "replica")

        replication.stop_sql_thread(replica_port)
        second = await reads.free_seat(concert)
        await reads.hold(concert, buyer, second)
        seats, source, age = await reads.seat_map(concert, buyer)
        assert (seats[second], source, age) == ("HELD", "primary", 0)  # waited, then primary
        seats, source, _ = await reads.seat_map(concert, other)
        assert (seats[second], source) == ("AVAILABLE", "replica")  # not their write
        replication.start_sql_thread(replica_port)
        await reads.until_replica_shows(concert, second, "HELD")
        seats, source, _ = await reads.seat_map(concert, buyer)
        assert (seats[second], source) == ("HELD", "replica")


async def test_bounded_staleness_leaves_the_replica_past_its_bound_and_comes_back(
    info: StackInfo,
    concert: int,
    replica_port: int,
    sql_thread: dict,
    http: aiohttp.ClientSession,
    member: Callable[[], int],
) -> None:
    settings = policy_settings(info, "bounded-staleness")
    async with serving(settings) as service:
        reads = Reader(http, service.url, settings)

        def from_(wanted: str):  # type: ignore[no-untyped-def]
            async def check() -> bool:
                _, source, age = await reads.seat_map(concert)
                return source == wanted and (wanted == "primary" or age < 800)

            return check

        await wait_until(from_("replica"), within=15, what="replica reads once the lag is known")
        replication.stop_sql_thread(replica_port)
        await wait_until(from_("primary"), within=15, what="primary reads past the bound")
        _, source, age = await reads.seat_map(concert)
        assert (source, age) == ("primary", 0)
        replication.start_sql_thread(replica_port)
        await wait_until(from_("replica"), within=15, what="replica reads once it caught up")


async def test_primary_policy_reads_the_primary_and_says_so(
    info: StackInfo, concert: int, http: aiohttp.ClientSession
) -> None:
    settings = info.settings(key_prefix=f"rp{secrets.token_hex(3)}", read_model=False)
    async with serving(settings) as service:
        _, source, age = await Reader(http, service.url, settings).seat_map(concert)
        assert (source, age) == ("primary", 0)


async def test_with_the_read_model_on_seat_maps_say_cache_and_reservations_stay_routed(
    info: StackInfo, concert: int, http: aiohttp.ClientSession, member: Callable[[], int]
) -> None:
    settings = policy_settings(info, "replica", read_model=True)
    async with serving(settings) as service:
        reads = Reader(http, service.url, settings)
        _, source, _ = await reads.seat_map(concert)
        assert source == "cache"
        url = f"{service.url}/api/v1/me/reservations"
        async with http.get(url, headers=reads.token(member())) as answer:
            assert answer.status == 200, await answer.text()
            assert answer.headers["X-Read-Source"] == "replica"
            assert int(answer.headers["X-Read-Age-Ms"]) >= 0
