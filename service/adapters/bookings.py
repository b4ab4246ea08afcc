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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.adapters.db import aware, from_db, to_db
from service.adapters.outbox import record_event
from service.adapters.zone_versions import note_changed
from service.domain import events
from service.domain.errors import NotFound
from service.domain.holds import FreedSeats, Hold, HoldStatus, ReleasedBy, SeatRef, hold_amount
from service.domain.reservations import ReservationStatus

Cursor = Any


@dataclass(frozen=True)
class SeatState:
    """A seat as a claim strategy reads it: the hold's view plus what may change under it."""

    ref: SeatRef
    status: str
    version: int
    hold_id: int | None


def placeholders(ids: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(ids))


async def load_seats(
    cur: Cursor,
    concert_id: int,
    seat_ids: Sequence[int],
    *,
    lock: bool = False,
    nowait: bool = False,
) -> list[SeatState]:
    """The concert's seats among ``seat_ids``, in id order; ``lock`` makes it FOR UPDATE.

    Without ``lock`` this is a consistent (snapshot) read: it may show a seat as AVAILABLE
    that another transaction has just claimed, which is exactly the window ``naive`` falls
    into and the guarded strategies close. ``nowait`` fails at once (error 1205) instead of
    waiting for a row someone else locked.
    """
    if not seat_ids:
        return []
    refs = await _seat_refs(cur, concert_id, seat_ids)
    if lock:
        live = await _lock_seat_rows(cur, seat_ids, nowait=nowait)
    else:
        live = {ref.id: row for ref, row in refs}
    return [
        SeatState(ref, live[ref.id]["status"], live[ref.id]["version"], live[ref.id]["hold_id"])
        for ref, _row in refs
    ]


async def _seat_refs(
    cur: Cursor, concert_id: int, seat_ids: Sequence[int]
) -> list[tuple[SeatRef, dict[str, Any]]]:
    await cur.execute(
        "SELECT s.id, z.code, s.row_label, s.number, s.price, s.status, s.version, s.hold_id"
        " FROM seats s JOIN zones z ON z.id = s.zone_id"
        f" WHERE s.concert_id = %s AND s.id IN ({placeholders(seat_ids)}) ORDER BY s.id",
        (concert_id, *seat_ids),
    )
    return [
        (SeatRef(r["id"], r["code"], r["row_label"], r["number"], r["price"]), r)
        for r in await cur.fetchall()
    ]


async def _lock_seat_rows(
    cur: Cursor, seat_ids: Sequence[int], *, nowait: bool
) -> dict[int, dict[str, Any]]:
    """Locks by primary key alone: a join would lock the zone row too (one lock for everyone,
    taken in no fixed order), and a concert_id condition could lock a whole index range."""
    await cur.execute(
        "SELECT id, status, version, hold_id FROM seats"
        f" WHERE id IN ({placeholders(seat_ids)}) ORDER BY id FOR UPDATE"
        + (" NOWAIT" if nowait else ""),
        tuple(seat_ids),
    )
    return {r["id"]: r for r in await cur.fetchall()}


def require_all(seat_ids: Sequence[int], seats: Sequence[SeatState]) -> None:
    missing = sorted(set(seat_ids) - {s.ref.id for s in seats})
    if missing:
        raise NotFound("seats", missing)


async def concert_ticket_limit(cur: Cursor, concert_id: int) -> int:
    await cur.execute("SELECT ticket_limit FROM concerts WHERE id = %s", (concert_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("concert", concert_id)
    return int(row["ticket_limit"])


async def lock_member(cur: Cursor, member_id: int) -> None:
    """Serialises one member's concurrent requests, so two of them can't both pass the limit.

    Must be the transaction's first statement: a REPEATABLE READ snapshot starts at the
    first plain read, and the count that follows has to see the member's last commit.
    """
    await cur.execute("SELECT id FROM members WHERE id = %s FOR UPDATE", (member_id,))
    if await cur.fetchone() is None:
        raise NotFound("member", member_id)


async def member_seat_count(cur: Cursor, member_id: int, concert_id: int, now: datetime) -> int:
    """Seats the member holds or has reserved for the concert, after ``lock_member``.

    Holds and unpaid reservations past their ``expires_at`` no longer count: their release
    may lag (a slow consumer), and the member should not pay for that lag.
    """
    moment = to_db(now)
    await cur.execute(
        "SELECT"
        " (SELECT COUNT(*) FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id"
        "   WHERE h.member_id = %s AND h.concert_id = %s AND h.status = 'ACTIVE'"
        "   AND h.expires_at > %s)"
        " + (SELECT COUNT(*) FROM reservations r JOIN hold_seats hs ON hs.hold_id = r.hold_id"
        "   WHERE r.member_id = %s AND r.concert_id = %s AND (r.status = 'CONFIRMED'"
        "   OR (r.status = 'AWAITING_PAYMENT' AND r.expires_at > %s))) AS n",
        (member_id, concert_id, moment, member_id, concert_id, moment),
    )
    row = await cur.fetchone()
    return int(row["n"])


async def insert_hold(
    cur: Cursor,
    *,
    concert_id: int,
    member_id: int,
    seats: Sequence[SeatRef],
    strategy: str,
    now: datetime,
    expires_at: datetime,
) -> Hold:
    """An ACTIVE hold and one hold_seats row per seat; the seats themselves are not touched."""
    amount = hold_amount(seats)
    await cur.execute(
        "INSERT INTO holds (concert_id, member_id, status, strategy, amount, created_at,"
        " expires_at) VALUES (%s, %s, 'ACTIVE', %s, %s, %s, %s)",
        (concert_id, member_id, strategy, amount, to_db(now), to_db(expires_at)),
    )
    hold_id = int(cur.lastrowid)
    await cur.executemany(
        "INSERT INTO hold_seats (hold_id, seat_id, concert_id, price) VALUES (%s, %s, %s, %s)",
        [(hold_id, seat.id, concert_id, seat.price) for seat in seats],
    )
    await record_event(
        cur,
        events.HOLD_CREATED,
        str(hold_id),
        {
            "concert_id": concert_id,
            "member_id": member_id,
            "seat_ids": [seat.id for seat in seats],
            "amount": amount,
            "strategy": strategy,
            "expires_at": expires_at,
        },
    )
    return Hold(
        id=hold_id,
        concert_id=concert_id,
        member_id=member_id,
        status=HoldStatus.ACTIVE,
        amount=amount,
        created_at=now,
        expires_at=expires_at,
        seats=list(seats),
        strategy=strategy,
    )


async def stamp_claimed(cur: Cursor, hold_id: int) -> None:
    """Record when the hold really got its seats: now, after the seat writes and lock waits."""
    await cur.execute("UPDATE holds SET claimed_at = UTC_TIMESTAMP(6) WHERE id = %s", (hold_id,))


async def mark_seats_held(cur: Cursor, hold_id: int, seat_ids: Sequence[int]) -> int:
    """The guarded claim: only AVAILABLE seats change; returns how many did."""
    await cur.execute(
        "UPDATE seats SET status = 'HELD', hold_id = %s, version = version + 1"
        f" WHERE id IN ({placeholders(seat_ids)}) AND status = 'AVAILABLE'",
        (hold_id, *seat_ids),
    )
    note_changed(cur, seat_ids, cur.rowcount)
    return int(cur.rowcount)


async def seats_not_held_by(cur: Cursor, hold_id: int, seat_ids: Sequence[int]) -> list[int]:
    """After a guarded claim fell short: which of the seats this hold did not get."""
    await cur.execute(
        f"SELECT id FROM seats WHERE id IN ({placeholders(seat_ids)})"
        " AND (hold_id IS NULL OR hold_id <> %s)",
        (*seat_ids, hold_id),
    )
    return [r["id"] for r in await cur.fetchall()]


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


async def hold_seat_refs(cur: Cursor, hold_id: int) -> list[SeatRef]:
    await cur.execute(
        "SELECT hs.seat_id, z.code, s.row_label, s.number, hs.price FROM hold_seats hs"
        " JOIN seats s ON s.id = hs.seat_id JOIN zones z ON z.id = s.zone_id"
        " WHERE hs.hold_id = %s ORDER BY hs.seat_id",
        (hold_id,),
    )
    return [
        SeatRef(r["seat_id"], r["code"], r["row_label"], r["number"], r["price"])
        for r in await cur.fetchall()
    ]


async def get_hold(
    cur: Cursor, hold_id: int, member_id: int | None = None, *, for_update: bool = False
) -> Hold | None:
    """The hold with its seats; scoped to ``member_id`` so another member's hold is None."""
    sql = "SELECT * FROM holds WHERE id = %s"
    args: tuple[int, ...] = (hold_id,)
    if member_id is not None:
        sql += " AND member_id = %s"
        args += (member_id,)
    await cur.execute(sql + (" FOR UPDATE" if for_update else ""), args)
    row = await cur.fetchone()
    if row is None:
        return None
    return _hold_from_row(row, await hold_seat_refs(cur, hold_id))


async def _release_seats(cur: Cursor, hold_id: int, now: datetime) -> tuple[int, ...]:
    """Frees the hold's seats that are still its own (a seat naive gave away stays put);
    the ids of every seat the hold had until now."""
    await cur.execute(
        "SELECT seat_id FROM hold_seats WHERE hold_id = %s AND released_at IS NULL"
        " ORDER BY seat_id",
        (hold_id,),
    )
    seat_ids = tuple(r["seat_id"] for r in await cur.fetchall())
    if not seat_ids:
        return seat_ids
    await cur.execute(
        "UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, version = version + 1"
        f" WHERE id IN ({placeholders(seat_ids)}) AND hold_id = %s",
        (*seat_ids, hold_id),
    )
    note_changed(cur, seat_ids, cur.rowcount)
    await cur.execute(
        "UPDATE hold_seats SET released_at = %s WHERE hold_id = %s AND released_at IS NULL",
        (to_db(now), hold_id),
    )
    return seat_ids


async def _release_active(
    cur: Cursor, hold_id: int, by: ReleasedBy, now: datetime
) -> tuple[int, ...]:
    seat_ids = await _release_seats(cur, hold_id, now)
    await cur.execute(
        "UPDATE holds SET status = 'RELEASED', released_at = %s, released_by = %s WHERE id = %s",
        (to_db(now), by.value, hold_id),
    )
    await record_event(cur, events.HOLD_RELEASED, str(hold_id), {"released_by": by.value})
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
    hold = await get_hold(cur, hold_id, member_id, for_update=True)
    if hold is None:
        raise NotFound("hold", hold_id)
    hold.ensure_releasable()
    await _release_active(cur, hold_id, ReleasedBy.MEMBER, now)
    hold.status = HoldStatus.RELEASED
    hold.released_at = now
    hold.released_by = ReleasedBy.MEMBER
    return hold


async def hold_seat_count(cur: Cursor, hold_id: int) -> int:
    await cur.execute("SELECT COUNT(*) AS n FROM hold_seats WHERE hold_id = %s", (hold_id,))
    return int((await cur.fetchone())["n"])
