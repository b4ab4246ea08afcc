"""The shared hold/reservation SQL, against the real database.

The expiry consumer and the sweeper code against ``release_expired_hold``; these tests pin
what it promises: release only what is due, never what is paid or already gone, and say
which seats came free.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.adapters import bookings, claim_sql, reservations
from service.adapters.db import Database
from service.domain.errors import InvalidState, NotFound
from service.domain.holds import FreedSeats, Hold, HoldStatus, ReleasedBy
from service.domain.reservations import ReservationStatus

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_used_seats: list[int] = [0]


async def create_members(db: Database, n: int) -> list[int]:
    async with db.transaction() as cur:
        ids = []
        for _ in range(n):
            await cur.execute(
                "INSERT INTO members (issuer, subject, created_at, last_login_at)"
                " VALUES ('test', UUID(), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
            )
            ids.append(cur.lastrowid)
        return ids


async def fresh_seats(db: Database, concert_id: int, n: int) -> list[int]:
    """Seats no earlier test touched, so tests stay independent on one seeded concert."""
    async with db.transaction() as cur:
        await cur.execute("SELECT id FROM seats WHERE concert_id = %s ORDER BY id", (concert_id,))
        all_ids = [r["id"] for r in await cur.fetchall()]
    start = _used_seats[0]
    _used_seats[0] += n
    assert start + n <= len(all_ids), "the test venue ran out of seats"
    return all_ids[start : start + n]


async def place(db: Database, concert_id: int, member_id: int, seat_ids: list[int]) -> Hold:
    async with db.transaction() as cur:
        seats = await claim_sql.load_seats(cur, concert_id, seat_ids)
        hold = await claim_sql.insert_hold(
            cur,
            concert_id=concert_id,
            member_id=member_id,
            seats=[s.ref for s in seats],
            strategy="conditional",
            now=NOW,
            expires_at=NOW + timedelta(seconds=60),
        )
        assert await claim_sql.mark_seats_held(cur, hold.id, seat_ids) == len(seat_ids)
        return hold


async def seat_rows(db: Database, seat_ids: list[int]) -> list[tuple[str, int | None]]:
    rows = await db.fetch_all(
        "SELECT status, hold_id FROM seats WHERE id IN ({}) ORDER BY id".format(
            ", ".join(["%s"] * len(seat_ids))
        ),
        seat_ids,
    )
    return [(r["status"], r["hold_id"]) for r in rows]


@pytest.fixture(scope="module")
async def member(db: Database) -> int:
    return (await create_members(db, 1))[0]


async def test_a_hold_costs_the_sum_of_its_seat_prices(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 2)
    hold = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        stored = await bookings.get_hold(cur, hold.id)
    assert stored is not None
    assert stored.amount == sum(s.price for s in stored.seats) == hold.amount
    assert [s.id for s in stored.seats] == seat_ids
    assert stored.expires_at == NOW + timedelta(seconds=60)


async def test_another_members_hold_is_invisible(
    db: Database, concert_id: int, member: int
) -> None:
    hold = await place(db, concert_id, member, await fresh_seats(db, concert_id, 1))
    async with db.transaction() as cur:
        assert await bookings.get_hold(cur, hold.id, member + 1000) is None


async def test_a_hold_that_has_not_expired_is_not_released(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 1)
    hold = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        released = await bookings.release_expired_hold(
            cur, hold.id, ReleasedBy.CONSUMER, hold.expires_at - timedelta(microseconds=1)
        )
    assert released is None
    assert await seat_rows(db, seat_ids) == [("HELD", hold.id)]


async def test_an_expired_active_hold_is_released_and_says_by_whom(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 2)
    hold = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        released = await bookings.release_expired_hold(
            cur, hold.id, ReleasedBy.SWEEPER, hold.expires_at
        )
        stored = await bookings.get_hold(cur, hold.id)
    assert released == FreedSeats(hold.id, concert_id, tuple(seat_ids))
    assert stored is not None
    assert (stored.status, stored.released_by) == (HoldStatus.RELEASED, ReleasedBy.SWEEPER)
    assert stored.released_at == hold.expires_at
    assert await seat_rows(db, seat_ids) == [("AVAILABLE", None)] * 2
    unreleased = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM hold_seats WHERE hold_id = %s AND released_at IS NULL",
        (hold.id,),
    )
    assert unreleased == {"n": 0}


async def test_a_released_hold_is_not_released_twice(
    db: Database, concert_id: int, member: int
) -> None:
    hold = await place(db, concert_id, member, await fresh_seats(db, concert_id, 1))
    later = hold.expires_at + timedelta(seconds=1)
    async with db.transaction() as cur:
        assert await bookings.release_expired_hold(cur, hold.id, ReleasedBy.CONSUMER, later)
    async with db.transaction() as cur:
        assert not await bookings.release_expired_hold(cur, hold.id, ReleasedBy.SWEEPER, later)


async def test_releasing_leaves_a_seat_another_hold_took_over(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 1)
    first = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        await cur.execute(
            "UPDATE seats SET hold_id = %s WHERE id = %s", (first.id + 10**6, *seat_ids)
        )
        await bookings.release_expired_hold(cur, first.id, ReleasedBy.CONSUMER, first.expires_at)
    assert await seat_rows(db, seat_ids) == [("HELD", first.id + 10**6)]


async def test_a_converted_hold_whose_reservation_is_paid_is_not_released(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 1)
    hold = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        reservation = await reservations.convert_hold(cur, hold.id, member, NOW)
        await cur.execute(
            "UPDATE reservations SET status = 'CONFIRMED' WHERE id = %s", (reservation.id,)
        )
    async with db.transaction() as cur:
        released = await bookings.release_expired_hold(
            cur, hold.id, ReleasedBy.CONSUMER, hold.expires_at + timedelta(hours=1)
        )
    assert released is None
    assert await seat_rows(db, seat_ids) == [("RESERVED", hold.id)]


async def test_an_expired_unpaid_reservation_expires_and_frees_its_seats(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 2)
    hold = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        reservation = await reservations.convert_hold(cur, hold.id, member, NOW)
    async with db.transaction() as cur:
        released = await bookings.release_expired_hold(
            cur, hold.id, ReleasedBy.CONSUMER, reservation.expires_at
        )
        stored = await reservations.get_reservation(cur, reservation.id)
    assert released == FreedSeats(hold.id, concert_id, tuple(seat_ids))
    assert stored is not None
    assert stored.status is ReservationStatus.EXPIRED
    assert stored.released_at == reservation.expires_at
    assert await seat_rows(db, seat_ids) == [("AVAILABLE", None)] * 2


async def test_conversion_reserves_the_seats_for_the_hold_amount_until_its_expiry(
    db: Database, concert_id: int, member: int
) -> None:
    seat_ids = await fresh_seats(db, concert_id, 2)
    hold = await place(db, concert_id, member, seat_ids)
    async with db.transaction() as cur:
        reservation = await reservations.convert_hold(cur, hold.id, member, NOW)
        stored = await bookings.get_hold(cur, hold.id)
    assert (reservation.amount, reservation.expires_at) == (hold.amount, hold.expires_at)
    assert reservation.status is ReservationStatus.AWAITING_PAYMENT
    assert reservation.order_id.startswith("ord_")
    assert stored is not None
    assert (stored.status, stored.released_by) == (HoldStatus.CONVERTED, ReleasedBy.CONVERSION)
    assert await seat_rows(db, seat_ids) == [("RESERVED", hold.id)] * 2


async def test_a_member_cannot_release_a_converted_hold(
    db: Database, concert_id: int, member: int
) -> None:
    hold = await place(db, concert_id, member, await fresh_seats(db, concert_id, 1))
    async with db.transaction() as cur:
        await reservations.convert_hold(cur, hold.id, member, NOW)
    with pytest.raises(InvalidState):
        async with db.transaction() as cur:
            await bookings.release_by_member(cur, hold.id, member, NOW)


async def test_a_member_cannot_release_another_members_hold(
    db: Database, concert_id: int, member: int
) -> None:
    hold = await place(db, concert_id, member, await fresh_seats(db, concert_id, 1))
    with pytest.raises(NotFound):
        async with db.transaction() as cur:
            await bookings.release_by_member(cur, hold.id, member + 1000, NOW)


async def test_the_limit_count_includes_active_holds_and_live_reservations_only(
    db: Database, concert_id: int
) -> None:
    (someone,) = await create_members(db, 1)
    active = await place(db, concert_id, someone, await fresh_seats(db, concert_id, 1))
    reserved = await place(db, concert_id, someone, await fresh_seats(db, concert_id, 2))
    released = await place(db, concert_id, someone, await fresh_seats(db, concert_id, 1))
    async with db.transaction() as cur:
        await reservations.convert_hold(cur, reserved.id, someone, NOW)
        await bookings.release_by_member(cur, released.id, someone, NOW)
    async with db.transaction() as cur:
        await claim_sql.lock_member(cur, someone)
        count = await claim_sql.member_seat_count(cur, someone, concert_id, NOW)
        after_expiry = await claim_sql.member_seat_count(
            cur, someone, concert_id, active.expires_at
        )
    assert count == 3
    assert after_expiry == 0
