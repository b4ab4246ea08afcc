"""The SQL of holds and their seats, shared by the claim strategies, the unit of work and expiry.

Every function runs inside the caller's transaction (``cur`` is the DictCursor that
``Database.transaction()`` yields), so a caller composes them into one atomic unit and
decides when to commit. Lock order is always member row, then hold row, then reservation
row, then seat rows in id order; keeping to it is what keeps these statements free of
deadlocks. Seats are always addressed by primary key: ``seats.hold_id`` has no index, and
an UPDATE that scanned the table would lock every seat of every concert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.adapters.claim_sql import placeholders
from service.adapters.db import aware, from_db, to_db
from service.adapters.outbox import record_event
from service.adapters.round_trips import Statement, batch, defer
from service.adapters.zone_versions import learn_zones, note_changed
from service.domain import events
from service.domain.errors import NotFound
from service.domain.holds import FreedSeats, Hold, HoldStatus, ReleasedBy, SeatRef
from service.domain.reservations import ReservationStatus

Cursor = Any


def _hold_from_row(row: dict[str, Any], seats: list[SeatRef]) -> Hold:
    return Hold(
        id=row["id"],
        concert_id=row["concert_id"],
        member_id=row["member_id"],
        status=HoldStatus(row["status"]),
        amount=row["amount"],
        created_at=aware(row["created_at"]),
        expires_at=aware(row["expires_at"]),
        seats=seats,
        strategy=row["strategy"],
        released_at=from_db(row["released_at"]),
        released_by=ReleasedBy(row["released_by"]) if row["released_by"] else None,
    )


def _hold_seat_rows_statement(hold_id: int) -> Statement:
    return (
        "SELECT hs.seat_id, z.code, s.row_label, s.number, hs.price, hs.released_at,"
        " s.concert_id, s.zone_id"
        " FROM hold_seats hs JOIN seats s ON s.id = hs.seat_id JOIN zones z ON z.id = s.zone_id"
        " WHERE hs.hold_id = %s ORDER BY hs.seat_id",
        (hold_id,),
    )


async def _hold_seat_rows(cur: Cursor, hold_id: int) -> list[dict[str, Any]]:
    await cur.execute(*_hold_seat_rows_statement(hold_id))
    rows = list(await cur.fetchall())
    learn_zones(cur, rows, "seat_id")
    return rows


def _seat_ref(row: dict[str, Any]) -> SeatRef:
    return SeatRef(row["seat_id"], row["code"], row["row_label"], row["number"], row["price"])


async def hold_seat_refs(cur: Cursor, hold_id: int) -> list[SeatRef]:
    return [_seat_ref(r) for r in await _hold_seat_rows(cur, hold_id)]


async def _hold_with_rows(
    cur: Cursor, hold_id: int, member_id: int | None, *, for_update: bool
) -> tuple[Hold, list[dict[str, Any]]] | None:
    """The hold row (locked with ``for_update``), then its seat rows: two statements, one
    round trip. The seat read is a statement of its own after the lock, so it sees what
    the lock waited for. When no hold is found (or it is another member's), the seat rows
    sent back with it are dropped unread; that read takes no lock."""
    sql = "SELECT * FROM holds WHERE id = %s"
    args: tuple[int, ...] = (hold_id,)
    if member_id is not None:
        sql += " AND member_id = %s"
        args += (member_id,)
    found, seats = await batch(
        cur,
        [(sql + (" FOR UPDATE" if for_update else ""), args), _hold_seat_rows_statement(hold_id)],
    )
    if not found.rows:
        return None
    learn_zones(cur, seats.rows, "seat_id")
    return _hold_from_row(found.rows[0], [_seat_ref(r) for r in seats.rows]), seats.rows


async def get_hold(
    cur: Cursor, hold_id: int, member_id: int | None = None, *, for_update: bool = False
) -> Hold | None:
    """The hold with its seats; scoped to ``member_id`` so another member's hold is None."""
    found = await _hold_with_rows(cur, hold_id, member_id, for_update=for_update)
    return None if found is None else found[0]


async def _unreleased_seat_ids(cur: Cursor, hold_id: int) -> tuple[int, ...]:
    """With their zones (``learn_zones``), so freeing them costs no zone lookup."""
    await cur.execute(
        "SELECT hs.seat_id, s.concert_id, s.zone_id FROM hold_seats hs"
        " JOIN seats s ON s.id = hs.seat_id WHERE hs.hold_id = %s AND hs.released_at IS NULL"
        " ORDER BY hs.seat_id",
        (hold_id,),
    )
    rows = list(await cur.fetchall())
    learn_zones(cur, rows, "seat_id")
    return tuple(r["seat_id"] for r in rows)


FREE_SEATS = (
    "UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, version = version + 1"
    " WHERE id IN ({}) AND hold_id = %s"
)


async def _free_seats(
    cur: Cursor, hold_id: int, seat_ids: Sequence[int], *, deferred: bool = False
) -> None:
    """Frees the seats that are still this hold's own (a seat naive gave away stays put).

    ``deferred``: the UPDATE rides with the transaction's next statement (its COMMIT, in a
    release), so nobody sees its rows affected, and the seats' zones are bumped whatever
    it changes. Only a seat naive gave away can be left unchanged, and a bump with no
    change is harmless: the zone's version still only grows, and a reader holding the old
    one reads the same statuses again.
    """
    if not seat_ids:
        return
    sql, args = FREE_SEATS.format(placeholders(seat_ids)), (*seat_ids, hold_id)
    if deferred:
        note_changed(cur, seat_ids, len(seat_ids))
        await defer(cur, sql, args)
        return
    await cur.execute(sql, args)
    note_changed(cur, seat_ids, cur.rowcount)


async def _release_seats(cur: Cursor, hold_id: int, now: datetime) -> tuple[int, ...]:
    """Frees the hold's seats that are still its own; the ids of every seat the hold had
    until now."""
    seat_ids = await _unreleased_seat_ids(cur, hold_id)
    if not seat_ids:
        return seat_ids
    await _free_seats(cur, hold_id, seat_ids)
    await cur.execute(
        "UPDATE hold_seats SET released_at = %s WHERE hold_id = %s AND released_at IS NULL",
        (to_db(now), hold_id),
    )
    return seat_ids


async def _release_active(
    cur: Cursor,
    hold_id: int,
    by: ReleasedBy,
    now: datetime,
    seat_ids: tuple[int, ...] | None = None,
) -> tuple[int, ...]:
    """Seats freed, then the hold and its seat rows marked released in one multi-table
    UPDATE (the LEFT JOIN still marks a hold with no seat rows left), then the event: all
    three deferred to ride with the COMMIT (``round_trips.defer``), in this order, after
    the hold row's lock, so the lock order is the same as statement by statement.
    ``seat_ids``: the hold's unreleased seats, when the caller has already read them."""
    if seat_ids is None:
        seat_ids = await _unreleased_seat_ids(cur, hold_id)
    await _free_seats(cur, hold_id, seat_ids, deferred=True)
    moment = to_db(now)
    await defer(
        cur,
        "UPDATE holds h LEFT JOIN hold_seats hs ON hs.hold_id = h.id AND hs.released_at IS NULL"
        " SET h.status = 'RELEASED', h.released_at = %s, h.released_by = %s,"
        " hs.released_at = %s WHERE h.id = %s",
        (moment, by.value, moment, hold_id),
    )
    await record_event(
        cur, events.HOLD_RELEASED, str(hold_id), {"released_by": by.value}, deferred=True
    )
    return seat_ids


async def release_expired_hold(
    cur: Cursor, hold_id: int, by: ReleasedBy, now: datetime
) -> FreedSeats | None:
    """Inside the caller's transaction (cur is an aiomysql DictCursor from Database.transaction()):
    lock the hold row (FOR UPDATE); if it is ACTIVE and expires_at <= now, release its seats and
    mark it RELEASED with released_at=now, released_by=by; if it is CONVERTED and its reservation
    is still AWAITING_PAYMENT with expires_at <= now, mark the reservation EXPIRED
    (released_at=now) and release the seats. Releasing seats = UPDATE seats SET
    status='AVAILABLE', hold_id=NULL, version=version+1 WHERE hold_id=<this hold> (so a seat
    double-booked by naive and now owned by another hold is left alone) and stamp
    hold_seats.released_at. Returns the seats released, or None if nothing was (not expired
    yet, already released, paid)."""
    moment = to_db(now)
    await cur.execute(
        "SELECT status, expires_at, concert_id FROM holds WHERE id = %s FOR UPDATE", (hold_id,)
    )
    hold = await cur.fetchone()
    if hold is None or hold["expires_at"] > moment:
        return None
    if hold["status"] == HoldStatus.ACTIVE:
        seat_ids = await _release_active(cur, hold_id, by, now)
        return FreedSeats(hold_id, hold["concert_id"], seat_ids)
    if hold["status"] != HoldStatus.CONVERTED:
        return None
    await cur.execute(
        "SELECT id, status, expires_at FROM reservations WHERE hold_id = %s FOR UPDATE",
        (hold_id,),
    )
    reservation = await cur.fetchone()
    if (
        reservation is None
        or reservation["status"] != ReservationStatus.AWAITING_PAYMENT
        or reservation["expires_at"] > moment
    ):
        return None
    await cur.execute(
        "UPDATE reservations SET status = 'EXPIRED', released_at = %s WHERE id = %s",
        (moment, reservation["id"]),
    )
    seat_ids = await _release_seats(cur, hold_id, now)
    await record_event(
        cur,
        events.RESERVATION_EXPIRED,
        str(reservation["id"]),
        {"hold_id": hold_id, "released_by": by.value},
    )
    return FreedSeats(hold_id, hold["concert_id"], seat_ids)


# The sweeper's claims (see ``claim_expired_holds``). Driven from the reservations index
# (status, expires_at), which only unpaid rows stay in for long; driving from holds would
# rescan every paid (CONVERTED) hold on every tick. This takes the reservation lock before
# the hold's, against the usual order, but SKIP LOCKED never waits, so it cannot deadlock:
# at worst a consumer releasing the same hold waits for the batch to commit, then finds
# nothing left to do.
SELECT_EXPIRED_ACTIVE = (
    "SELECT id FROM holds WHERE status = 'ACTIVE' AND expires_at <= %s"
    " ORDER BY expires_at, id LIMIT %s FOR UPDATE SKIP LOCKED"
)
SELECT_EXPIRED_UNPAID = (
    "SELECT STRAIGHT_JOIN h.id FROM reservations r JOIN holds h ON h.id = r.hold_id"
    " WHERE r.status = 'AWAITING_PAYMENT' AND r.expires_at <= %s AND h.status = 'CONVERTED'"
    " ORDER BY r.expires_at, r.id LIMIT %s FOR UPDATE SKIP LOCKED"
)


async def claim_expired_holds(cur: Cursor, cutoff: datetime, limit: int) -> list[int]:
    """Lock up to ``limit`` holds due by ``cutoff`` that nobody else has locked: ACTIVE ones,
    and CONVERTED ones whose reservation is still unpaid. Their ids, in lock order.

    ``FOR UPDATE SKIP LOCKED`` lets any number of worker processes sweep at once without
    waiting for each other or releasing a hold twice. Run it at READ COMMITTED: under
    REPEATABLE READ the range scan would also take gap locks on the holds index and block
    new holds from being inserted while it runs.
    """
    await cur.execute(SELECT_EXPIRED_ACTIVE, (to_db(cutoff), limit))
    hold_ids = [row["id"] for row in await cur.fetchall()]
    if len(hold_ids) < limit:
        await cur.execute(SELECT_EXPIRED_UNPAID, (to_db(cutoff), limit - len(hold_ids)))
        hold_ids += [row["id"] for row in await cur.fetchall()]
    return hold_ids


async def release_by_member(cur: Cursor, hold_id: int, member_id: int, now: datetime) -> Hold:
    """The member gives the hold back; another member's hold is NotFound, never Forbidden."""
    found = await _hold_with_rows(cur, hold_id, member_id, for_update=True)
    if found is None:
        raise NotFound("hold", hold_id)
    hold, seat_rows = found
    hold.ensure_releasable()
    unreleased = tuple(r["seat_id"] for r in seat_rows if r["released_at"] is None)
    await _release_active(cur, hold_id, ReleasedBy.MEMBER, now, unreleased)
    hold.status = HoldStatus.RELEASED
    hold.released_at = now
    hold.released_by = ReleasedBy.MEMBER
    return hold


async def hold_seat_count(cur: Cursor, hold_id: int) -> int:
    await cur.execute("SELECT COUNT(*) AS n FROM hold_seats WHERE hold_id = %s", (hold_id,))
    return int((await cur.fetchone())["n"])
