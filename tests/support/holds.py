"""Holds written straight through the claim SQL, for expiry and sweeper tests that
exercise one path alone (no claim strategy, no HTTP)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from service.adapters import claim_sql, reservations
from service.adapters.db import Database
from service.domain.holds import SeatRef


def utcnow() -> datetime:
    return datetime.now(UTC)


class SeatPool:
    """Hands out each seat of a concert once per module, so tests never share seats."""

    def __init__(self, concert_id: int, seats: list[SeatRef]) -> None:
        self.concert_id = concert_id
        self.seats = seats

    @classmethod
    async def of(cls, db: Database, concert_id: int) -> SeatPool:
        async with db.transaction() as cur:
            await cur.execute("SELECT id FROM seats WHERE concert_id = %s ORDER BY id", concert_id)
            ids = [row["id"] for row in await cur.fetchall()]
            seats = await claim_sql.load_seats(cur, concert_id, ids)
        return cls(concert_id, [s.ref for s in seats])

    def take(self, n: int) -> list[SeatRef]:
        if len(self.seats) < n:
            raise RuntimeError("the test concert ran out of seats; seed a bigger one")
        taken, self.seats = self.seats[:n], self.seats[n:]
        return taken


async def make_hold(
    db: Database,
    concert_id: int,
    seats: Sequence[SeatRef],
    expires_at: datetime,
    *,
    member_id: int = 1,
) -> int:
    """An ACTIVE hold on ``seats`` (marked HELD), as a claim strategy would commit it."""
    now = min(utcnow(), expires_at - timedelta(seconds=1))
    async with db.transaction() as cur:
        hold = await claim_sql.insert_hold(
            cur,
            concert_id=concert_id,
            member_id=member_id,
            seats=seats,
            strategy="test",
            now=now,
            expires_at=expires_at,
        )
        if seats:
            assert await claim_sql.mark_seats_held(cur, hold.id, [s.id for s in seats]) == len(
                seats
            )
    return hold.id


async def convert(db: Database, hold_id: int, *, paid: bool, member_id: int = 1) -> None:
    """Turn an unexpired hold into a reservation; ``paid`` confirms it and sells the seats."""
    async with db.transaction() as cur:
        reservation = await reservations.convert_hold(cur, hold_id, member_id, utcnow())
        if paid:
            await cur.execute(
                "UPDATE reservations SET status = 'CONFIRMED', confirmed_at = %s WHERE id = %s",
                (utcnow().replace(tzinfo=None), reservation.id),
            )
            await cur.execute("UPDATE seats SET status = 'SOLD' WHERE hold_id = %s", hold_id)


async def hold_row(db: Database, hold_id: int) -> dict[str, Any]:
    row = await db.fetch_one("SELECT * FROM holds WHERE id = %s", hold_id)
    assert row is not None
    return row


async def reservation_status(db: Database, hold_id: int) -> str:
    row = await db.fetch_one("SELECT status FROM reservations WHERE hold_id = %s", hold_id)
    assert row is not None
    return str(row["status"])


async def seat_statuses(db: Database, seats: Sequence[SeatRef]) -> set[str]:
    ids = [s.id for s in seats]
    rows = await db.fetch_all(
        f"SELECT status FROM seats WHERE id IN ({', '.join(['%s'] * len(ids))})", ids
    )
    return {row["status"] for row in rows}


def released(db: Database, hold_id: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await hold_row(db, hold_id))["status"] == "RELEASED"

    return check
