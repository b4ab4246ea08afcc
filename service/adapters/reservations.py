"""The SQL of reservations: a hold converted, found by its order, locked, confirmed.

Every function runs inside the caller's transaction, like ``bookings``, and keeps its lock
order: member row, hold row, reservation row, (payment row,) then seat rows in id order.
``lock_reservation`` takes the hold before the reservation for that reason:
``bookings.release_expired_hold`` does the same, so a payment and an expiry racing for one
reservation queue up instead of deadlocking, and whichever commits second sees the
other's result (given READ COMMITTED: see ``payments_repo``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.adapters.bookings import get_hold
from service.adapters.claim_sql import placeholders
from service.adapters.db import aware, from_db, to_db
from service.adapters.zone_versions import note_changed
from service.domain.errors import NotFound
from service.domain.reservations import Reservation, ReservationStatus, new_order_id

Cursor = Any


async def convert_hold(cur: Cursor, hold_id: int, member_id: int, now: datetime) -> Reservation:
    """The hold becomes a reservation awaiting payment, for the amount the server computed."""
    hold = await get_hold(cur, hold_id, member_id, for_update=True)
    if hold is None:
        raise NotFound("hold", hold_id)
    hold.ensure_convertible(now)
    moment = to_db(now)
    await cur.execute(
        "UPDATE holds SET status = 'CONVERTED', released_at = %s, released_by = 'conversion'"
        " WHERE id = %s",
        (moment, hold_id),
    )
    seat_ids = [seat.id for seat in hold.seats]
    await cur.execute(
        "UPDATE seats SET status = 'RESERVED', version = version + 1"
        f" WHERE id IN ({placeholders(seat_ids)}) AND hold_id = %s AND status = 'HELD'",
        (*seat_ids, hold_id),
    )
    note_changed(cur, seat_ids, cur.rowcount)
    order_id = new_order_id()
    await cur.execute(
        "INSERT INTO reservations (hold_id, member_id, concert_id, order_id, amount, status,"
        " created_at, expires_at) VALUES (%s, %s, %s, %s, %s, 'AWAITING_PAYMENT', %s, %s)",
        (
            hold_id,
            member_id,
            hold.concert_id,
            order_id,
            hold.amount,
            moment,
            to_db(hold.expires_at),
        ),
    )
    return Reservation(
        id=int(cur.lastrowid),
        hold_id=hold_id,
        member_id=member_id,
        concert_id=hold.concert_id,
        order_id=order_id,
        amount=hold.amount,
        status=ReservationStatus.AWAITING_PAYMENT,
        created_at=now,
        expires_at=hold.expires_at,
    )


def _reservation_from_row(row: dict[str, Any]) -> Reservation:
    return Reservation(
        id=row["id"],
        hold_id=row["hold_id"],
        member_id=row["member_id"],
        concert_id=row["concert_id"],
        order_id=row["order_id"],
        amount=row["amount"],
        status=ReservationStatus(row["status"]),
        created_at=aware(row["created_at"]),
        expires_at=aware(row["expires_at"]),
        confirmed_at=from_db(row["confirmed_at"]),
        released_at=from_db(row["released_at"]),
    )


async def list_reservations(cur: Cursor, member_id: int) -> list[Reservation]:
    """The member's reservations, newest first."""
    await cur.execute(
        "SELECT * FROM reservations WHERE member_id = %s ORDER BY created_at DESC, id DESC",
        (member_id,),
    )
    return [_reservation_from_row(r) for r in await cur.fetchall()]


async def get_reservation(
    cur: Cursor, reservation_id: int, member_id: int | None = None
) -> Reservation | None:
    sql = "SELECT * FROM reservations WHERE id = %s"
    args: tuple[int, ...] = (reservation_id,)
    if member_id is not None:
        sql += " AND member_id = %s"
        args += (member_id,)
    await cur.execute(sql, args)
    row = await cur.fetchone()
    return None if row is None else _reservation_from_row(row)


async def reservation_by_order(
    cur: Cursor, order_id: str, member_id: int | None = None
) -> Reservation | None:
    sql = "SELECT id FROM reservations WHERE order_id = %s"
    args: tuple[Any, ...] = (order_id,)
    if member_id is not None:
        sql += " AND member_id = %s"
        args += (member_id,)
    await cur.execute(sql, args)
    row = await cur.fetchone()
    return None if row is None else await get_reservation(cur, row["id"])


async def lock_reservation(cur: Cursor, order_id: str) -> Reservation | None:
    """Hold row, then reservation row, FOR UPDATE; the reservation as it is under the lock.

    Run it at READ COMMITTED (the settling unit of work's ``SETTLE_ISOLATION``): the first
    SELECT (ids that never change) comes before the lock wait, and at REPEATABLE READ it
    would pin the snapshot that the reservation read after the wait returns.
    """
    await cur.execute("SELECT id, hold_id FROM reservations WHERE order_id = %s", (order_id,))
    row = await cur.fetchone()
    if row is None:
        return None
    await cur.execute("SELECT id FROM holds WHERE id = %s FOR UPDATE", (row["hold_id"],))
    await cur.execute("SELECT id FROM reservations WHERE id = %s FOR UPDATE", (row["id"],))
    return await get_reservation(cur, row["id"])


async def confirm_reservation(
    cur: Cursor, reservation: Reservation, now: datetime, *, all_or_nothing: bool = True
) -> bool:
    """CONFIRMED, and the hold's seats SOLD; False (nothing written) if it cannot have them all.

    The hold's seats still its own are locked (in id order) before anything is written: a
    seat released by an expiry, or given to another hold by ``naive``, cannot be sold to this
    reservation, and a payment for fewer seats than were paid for must be refunded instead.
    ``all_or_nothing=False`` is the ``confirm-overwrites`` defect: confirm whatever is left.
    """
    await cur.execute(
        "SELECT seat_id, released_at FROM hold_seats WHERE hold_id = %s ORDER BY seat_id",
        (reservation.hold_id,),
    )
    rows = list(await cur.fetchall())
    seat_ids = [r["seat_id"] for r in rows if r["released_at"] is None]
    owned: list[int] = []
    if seat_ids:
        await cur.execute(
            f"SELECT id FROM seats WHERE id IN ({placeholders(seat_ids)}) AND hold_id = %s"
            " ORDER BY id FOR UPDATE",
            (*seat_ids, reservation.hold_id),
        )
        owned = [r["id"] for r in await cur.fetchall()]
    if all_or_nothing and (not rows or len(owned) != len(rows)):
        return False
    await cur.execute(
        "UPDATE reservations SET status = 'CONFIRMED', confirmed_at = %s WHERE id = %s",
        (to_db(now), reservation.id),
    )
    if not owned:
        return False
    await cur.execute(
        "UPDATE seats SET status = 'SOLD', version = version + 1"
        f" WHERE id IN ({placeholders(owned)}) AND hold_id = %s",
        (*owned, reservation.hold_id),
    )
    note_changed(cur, owned, cur.rowcount)
    sold = int(cur.rowcount)
    if all_or_nothing and sold != len(rows):  # the rows are locked: cannot happen
        raise RuntimeError(f"reservation {reservation.id}: sold {sold} of {len(rows)} seats")
    return sold == len(rows)


async def overwrite_reservation(
    cur: Cursor, reservation_id: int, status: ReservationStatus
) -> None:
    """The ``confirm-overwrites`` defect's blind write: no check of what was there."""
    await cur.execute(
        "UPDATE reservations SET status = %s WHERE id = %s", (status.value, reservation_id)
    )
