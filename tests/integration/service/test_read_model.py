"""The availability read model converges on the database after every kind of seat change.

Two read models stand for two workers: each keeps its own snapshots, and both must show
exactly the seats' statuses in the database (and its remaining counts) after a hold, a
member's release, an expiry by the consumer and by the sweeper, a reservation, a sale, a
payment-time expiry (the refund path), and a reset — under every claim strategy. A zone's
version must grow with each change that touched it and never go back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

import pytest
import redis.asyncio as aioredis

from service import schema
from service.adapters.availability import CachedAvailability, DatabaseAvailability
from service.adapters.db import Database
from service.bootstrap import booking_deps, expiry_deps
from service.config import CLAIM_STRATEGIES, Settings
from service.domain.availability import STATUS_CODES, compact_form, decode_compact, verbose_seats
from service.domain.holds import ReleasedBy
from service.domain.venue import venue_layout
from service.ports import HoldExpiryScheduler
from service.usecases import expiry, holds
from tests.support.holds import utcnow
from tests.support.isolation import Isolation
from tests.support.waiting import wait_until

ZONES = ("A", "B")
_members = count(1)


class NoScheduler(HoldExpiryScheduler):
    """Expiry is driven by the test itself (``expire_hold``, ``sweep_expired``)."""

    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        return None


@pytest.fixture(scope="module")
def settings(isolation: Isolation) -> Settings:
    return isolation.settings(hold_ttl_s=600)


@pytest.fixture(scope="module")
async def member_ids(db: Database) -> list[int]:
    async with db.transaction() as cur:
        await cur.executemany(
            "INSERT INTO members (issuer, subject, created_at, last_login_at)"
            " VALUES ('test', %s, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            [(f"reader-{n}",) for n in range(200)],
        )
        await cur.execute("SELECT id FROM members ORDER BY id")
        return [r["id"] for r in await cur.fetchall()]


@dataclass
class Venue:
    concert_id: int
    seats: dict[str, list[int]]  # zone code → seat ids in seat-map order


@pytest.fixture
async def venue(settings: Settings, db: Database) -> AsyncIterator[Venue]:
    layout = venue_layout(zones=len(ZONES), seats_per_row=5, max_rows=2)
    concert_id = schema.seed(settings, layout=layout).concert_ids[0]
    seats: dict[str, list[int]] = {}
    for zone in ZONES:
        rows = await db.fetch_all(
            "SELECT s.id FROM seats s JOIN zones z ON z.id = s.zone_id WHERE z.concert_id = %s"
            " AND z.code = %s ORDER BY s.row_label, s.number, s.id",
            (concert_id, zone),
        )
        seats[zone] = [r["id"] for r in rows]
    yield Venue(concert_id, seats)


async def truth(db: Database, concert_id: int, zone: str) -> str:
    rows = await db.fetch_all(
        "SELECT s.status FROM seats s JOIN zones z ON z.id = s.zone_id WHERE z.concert_id = %s"
        " AND z.code = %s ORDER BY s.row_label, s.number, s.id",
        (concert_id, zone),
    )
    return "".join(STATUS_CODES[r["status"]] for r in rows)


class Observer:
    """Two workers' read models, checked against the database after each change."""

    def __init__(self, db: Database, concert_id: int) -> None:
        self.db = db
        self.concert_id = concert_id
        self.workers = [CachedAvailability(db, max_age_s=0), CachedAvailability(db, 0.05)]
        self.versions: dict[str, int] = {}

    async def converged(self, changed: tuple[str, ...]) -> None:
        """Both read models show the database's statuses and counts; the changed zones'
        versions grew and no version went back."""
        expected = {zone: await truth(self.db, self.concert_id, zone) for zone in ZONES}
        versions: dict[str, int] = {}
        for worker in self.workers:

            async def shows_truth(worker: CachedAvailability = worker) -> bool:
                for zone in ZONES:
                    read = await worker.seat_map(self.concert_id, zone)
                    assert read is not None
                    if read.snapshot.statuses != expected[zone]:
                        return False
                    versions[zone] = read.snapshot.version
                zones = await worker.zones(self.concert_id)
                assert zones is not None
                return [z.remaining for z in zones.zones] == [
                    expected[zone].count("A") for zone in ZONES
                ]

            await wait_until(shows_truth, within=5, what="the read model to converge")
        for zone in ZONES:
            before = self.versions.get(zone, -1)
            if zone in changed:
                assert versions[zone] > before, f"zone {zone}'s version did not grow"
            else:
                assert versions[zone] >= before, f"zone {zone}'s version went back"
        self.versions = versions


@pytest.mark.parametrize("strategy", CLAIM_STRATEGIES)
async def test_both_workers_converge_after_every_kind_of_change(
    strategy: str,
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    member_ids: list[int],
    venue: Venue,
) -> None:
    with_strategy = dataclasses.replace(settings, claim_strategy=strategy)
    booking = booking_deps(with_strategy, db, redis_client, NoScheduler())
    expiring = expiry_deps(with_strategy, db, redis_client)
    seen = Observer(db, venue.concert_id)
    a, b = venue.seats["A"], venue.seats["B"]
    concert = venue.concert_id

    def member() -> int:
        return member_ids[next(_members) % len(member_ids)]

    await seen.converged(ZONES)

    buyer = member()
    hold = await holds.place_hold(booking, buyer, concert, [a[0], a[1], b[0]])
    await seen.converged(("A", "B"))

    await holds.release_hold(booking, buyer, hold.id)
    await seen.converged(("A", "B"))

    later = utcnow() + timedelta(seconds=settings.hold_ttl_s + 60)
    hold = await holds.place_hold(booking, member(), concert, [a[2]])
    await seen.converged(("A",))
    assert await expiry.expire_hold(expiring, hold.id, ReleasedBy.CONSUMER, later)
    await seen.converged(("A",))

    hold = await holds.place_hold(booking, member(), concert, [b[1], b[2]])
    await seen.converged(("B",))
    assert hold.id in await expiry.sweep_expired(expiring, later, grace_s=0, limit=100)
    await seen.converged(("B",))

    buyer = member()
    hold = await holds.place_hold(booking, buyer, concert, [a[3]])
    reservation = await holds.reserve_hold(booking, buyer, hold.id)
    await seen.converged(("A",))
    async with booking.uow() as uow:
        assert await uow.reservations.confirm(reservation, utcnow())
        await uow.commit()
    await seen.converged(("A",))

    buyer = member()
    hold = await holds.place_hold(booking, buyer, concert, [b[3]])
    await holds.reserve_hold(booking, buyer, hold.id)
    await seen.converged(("B",))
    async with booking.uow() as uow:  # a late payment expires it and is refunded
        assert await uow.holds.release_expired(hold.id, ReleasedBy.PAYMENT, later)
        await uow.commit()
    await seen.converged(("B",))
    assert (await truth(db, concert, "A")).count("S") == 1

    schema.reset(settings)
    await seen.converged(ZONES)
    assert await truth(db, concert, "A") == "A" * len(a)


async def test_the_compact_form_agrees_with_the_verbose_one_seat_by_seat(
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    member_ids: list[int],
    venue: Venue,
) -> None:
    booking = booking_deps(settings, db, redis_client, NoScheduler())
    buyer = member_ids[-1]
    await holds.place_hold(booking, buyer, venue.concert_id, [venue.seats["A"][1]])
    read = await CachedAvailability(db, 0).seat_map(venue.concert_id, "a")
    assert read is not None
    verbose = verbose_seats(read.snapshot)
    compact = decode_compact(compact_form(read.snapshot))
    assert len(verbose) == len(compact) == len(venue.seats["A"])
    for long, short in zip(verbose, compact, strict=True):
        assert {k: long[k] for k in ("id", "zone_code", "row", "number", "price")} == {
            k: short[k] for k in ("id", "zone_code", "row", "number", "price")
        }
        assert short["available"] == (long["status"] == "AVAILABLE")
    assert [s["available"] for s in compact].count(False) == 1


async def test_the_database_reads_answer_what_the_read_model_does(
    db: Database, venue: Venue
) -> None:
    cached = await CachedAvailability(db, 0).seat_map(venue.concert_id, "B")
    direct = await DatabaseAvailability(db).seat_map(venue.concert_id, "B")
    assert cached is not None and direct is not None
    assert cached.snapshot.statuses == direct.snapshot.statuses
    assert cached.snapshot.version == direct.snapshot.version
    assert (cached.freshness.source, direct.freshness.source) == ("cache", "primary")
    assert await DatabaseAvailability(db).zones(10**9) is None
    assert await CachedAvailability(db, 0).seat_map(venue.concert_id, "Q") is None
