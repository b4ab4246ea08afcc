"""The hold use cases end to end on the real database and Redis, with a recording scheduler."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from service import schema
from service.adapters.catalog import SqlCatalog
from service.adapters.claims.redis_gate import gate_key
from service.adapters.db import Database
from service.bootstrap import booking_deps
from service.config import Settings
from service.domain.errors import (
    InvalidRequest,
    InvalidState,
    NotFound,
    SeatsTaken,
    TicketLimitExceeded,
)
from service.domain.holds import FreedSeats, HoldStatus, ReleasedBy
from service.domain.reservations import ReservationStatus
from service.domain.venue import venue_layout
from service.ports import HoldExpiryScheduler
from service.usecases import catalog
from service.usecases.holds import (
    BookingDeps,
    get_hold,
    list_reservations,
    place_hold,
    release_hold,
    reserve_hold,
)


class RecordingScheduler(HoldExpiryScheduler):
    def __init__(self) -> None:
        self.scheduled: list[tuple[int, datetime]] = []

    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        self.scheduled.append((hold_id, expires_at))


async def create_members(db: Database, n: int) -> list[int]:
    ids = []
    async with db.transaction() as cur:
        for _ in range(n):
            await cur.execute(
                "INSERT INTO members (issuer, subject, created_at, last_login_at)"
                " VALUES ('test', UUID(), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
            )
            ids.append(cur.lastrowid)
    return ids


@pytest.fixture
def concert(settings: Settings) -> int:
    """A fresh small concert per test (2 zones × 2 rows × 10 seats, limit 3)."""
    layout = venue_layout(zones=2, seats_per_row=10, max_rows=2)
    return schema.seed(settings, layout=layout).concert_ids[0]


async def seats_of(db: Database, concert_id: int) -> list[int]:
    rows = await db.fetch_all(
        "SELECT id FROM seats WHERE concert_id = %s ORDER BY id", (concert_id,)
    )
    return [r["id"] for r in rows]


def deps_for(strategy: str, settings: Settings, db: Database, redis: aioredis.Redis) -> BookingDeps:
    strategy_settings = replace(settings, claim_strategy=strategy)
    return booking_deps(strategy_settings, db, redis, RecordingScheduler())


@pytest.fixture
def deps(settings: Settings, db: Database, redis_client: aioredis.Redis) -> BookingDeps:
    return deps_for("conditional", settings, db, redis_client)


@pytest.fixture
async def alice(db: Database) -> int:
    return (await create_members(db, 1))[0]


@pytest.fixture
async def bob(db: Database) -> int:
    return (await create_members(db, 1))[0]


async def test_a_placed_hold_has_its_expiry_scheduled(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    seats = await seats_of(db, concert)
    hold = await place_hold(deps, alice, concert, [seats[1], seats[0]])
    assert isinstance(deps.expiry, RecordingScheduler)
    assert deps.expiry.scheduled == [(hold.id, hold.expires_at)]
    assert [s.id for s in hold.seats] == seats[:2]


async def test_a_hold_costs_the_server_side_seat_prices(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    seats = await seats_of(db, concert)
    hold = await place_hold(deps, alice, concert, seats[:2])
    stored = await get_hold(deps, alice, hold.id)
    assert stored.amount == hold.amount == sum(s.price for s in stored.seats) > 0


async def test_a_granted_hold_is_counted_by_strategy(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    def granted() -> float:
        value = REGISTRY.get_sample_value(
            "ticketlab_holds_granted_total", {"strategy": "conditional"}
        )
        return value or 0.0

    before = granted()
    await place_hold(deps, alice, concert, (await seats_of(db, concert))[:1])
    assert granted() == before + 1


async def test_a_request_beyond_the_ticket_limit_is_refused(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    seats = await seats_of(db, concert)
    await place_hold(deps, alice, concert, seats[:2])
    with pytest.raises(TicketLimitExceeded) as refused:
        await place_hold(deps, alice, concert, seats[2:4])
    assert (refused.value.limit, refused.value.already, refused.value.requested) == (3, 2, 2)


async def test_one_members_simultaneous_requests_cannot_both_pass_the_limit(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    seats = await seats_of(db, concert)
    outcomes = await asyncio.gather(
        place_hold(deps, alice, concert, seats[0:2]),
        place_hold(deps, alice, concert, seats[2:4]),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Hold", "TicketLimitExceeded"]


async def test_seats_held_by_someone_else_are_refused_by_name(
    deps: BookingDeps, db: Database, concert: int, alice: int, bob: int
) -> None:
    seats = await seats_of(db, concert)
    await place_hold(deps, alice, concert, [seats[0]])
    with pytest.raises(SeatsTaken) as refused:
        await place_hold(deps, bob, concert, seats[:2])
    assert refused.value.seat_ids == [seats[0]]


async def test_an_unknown_concert_is_not_found(deps: BookingDeps, alice: int) -> None:
    with pytest.raises(NotFound) as missing:
        await place_hold(deps, alice, 10**9, [1])
    assert missing.value.kind == "concert"


async def test_seats_of_another_concert_are_not_found(
    deps: BookingDeps, db: Database, settings: Settings, concert: int, alice: int
) -> None:
    other = schema.seed(settings, layout=venue_layout(zones=1, seats_per_row=2, max_rows=1))
    foreign = await seats_of(db, other.concert_ids[0])
    with pytest.raises(NotFound) as missing:
        await place_hold(deps, alice, concert, foreign)
    assert (missing.value.kind, missing.value.ident) == ("seats", foreign)


@pytest.mark.parametrize("seat_ids", [[], [1, 1], list(range(1, 12)), [0]])
async def test_a_malformed_seat_list_is_an_invalid_request(
    deps: BookingDeps, concert: int, alice: int, seat_ids: list[int]
) -> None:
    with pytest.raises(InvalidRequest):
        await place_hold(deps, alice, concert, seat_ids)


async def test_another_members_hold_is_not_found(
    deps: BookingDeps, db: Database, concert: int, alice: int, bob: int
) -> None:
    hold = await place_hold(deps, alice, concert, (await seats_of(db, concert))[:1])
    for action in (get_hold, release_hold, reserve_hold):
        with pytest.raises(NotFound):
            await action(deps, bob, hold.id)


async def test_a_member_release_frees_the_seats_for_someone_else(
    deps: BookingDeps, db: Database, concert: int, alice: int, bob: int
) -> None:
    seats = (await seats_of(db, concert))[:2]
    hold = await place_hold(deps, alice, concert, seats)
    released = await release_hold(deps, alice, hold.id)
    assert (released.status, released.released_by) == (HoldStatus.RELEASED, ReleasedBy.MEMBER)
    again = await place_hold(deps, bob, concert, seats)
    assert [s.id for s in again.seats] == seats


async def test_a_member_release_opens_the_redis_gate(
    settings: Settings, db: Database, redis_client: aioredis.Redis, concert: int, alice: int
) -> None:
    deps = deps_for("redis-gate", settings, db, redis_client)
    seats = (await seats_of(db, concert))[:2]
    hold = await place_hold(deps, alice, concert, seats)
    keys = [gate_key(settings, concert, s) for s in seats]
    assert await redis_client.exists(*keys) == 2
    await release_hold(deps, alice, hold.id)
    assert await redis_client.exists(*keys) == 0


async def test_the_release_hook_opens_the_redis_gate_of_a_hold(
    settings: Settings, db: Database, redis_client: aioredis.Redis, concert: int, alice: int
) -> None:
    deps = deps_for("redis-gate", settings, db, redis_client)
    seats = (await seats_of(db, concert))[:1]
    hold = await place_hold(deps, alice, concert, seats)
    await deps.claimer.released(FreedSeats(hold.id, concert, tuple(seats)))
    assert await redis_client.exists(gate_key(settings, concert, seats[0])) == 0


async def test_a_released_hold_cannot_be_released_again(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    hold = await place_hold(deps, alice, concert, (await seats_of(db, concert))[:1])
    await release_hold(deps, alice, hold.id)
    with pytest.raises(InvalidState):
        await release_hold(deps, alice, hold.id)


async def test_reserving_a_hold_awaits_payment_of_its_amount(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    hold = await place_hold(deps, alice, concert, (await seats_of(db, concert))[:2])
    reservation = await reserve_hold(deps, alice, hold.id)
    assert reservation.status is ReservationStatus.AWAITING_PAYMENT
    assert (reservation.amount, reservation.expires_at) == (hold.amount, hold.expires_at)
    assert (await get_hold(deps, alice, hold.id)).status is HoldStatus.CONVERTED


async def test_a_released_hold_cannot_be_reserved(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    hold = await place_hold(deps, alice, concert, (await seats_of(db, concert))[:1])
    await release_hold(deps, alice, hold.id)
    with pytest.raises(InvalidState):
        await reserve_hold(deps, alice, hold.id)


async def test_a_reservation_still_counts_toward_the_ticket_limit(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    seats = await seats_of(db, concert)
    hold = await place_hold(deps, alice, concert, seats[:3])
    await reserve_hold(deps, alice, hold.id)
    with pytest.raises(TicketLimitExceeded):
        await place_hold(deps, alice, concert, seats[3:4])


async def test_members_see_only_their_own_reservations(
    deps: BookingDeps, db: Database, concert: int, alice: int, bob: int
) -> None:
    seats = await seats_of(db, concert)
    mine = await reserve_hold(deps, alice, (await place_hold(deps, alice, concert, seats[:1])).id)
    await reserve_hold(deps, bob, (await place_hold(deps, bob, concert, seats[1:2])).id)
    assert [r.id for r in await list_reservations(deps, alice)] == [mine.id]


async def test_remaining_seats_drop_after_a_hold(
    deps: BookingDeps, db: Database, concert: int, alice: int
) -> None:
    before = {z.code: z.remaining for z in await catalog.list_zones(SqlCatalog(db), concert)}
    seats = await seats_of(db, concert)
    await place_hold(deps, alice, concert, seats[:2])
    after = {z.code: z.remaining for z in await catalog.list_zones(SqlCatalog(db), concert)}
    assert before == {"A": 20, "B": 20}
    assert after == {"A": 18, "B": 20}
