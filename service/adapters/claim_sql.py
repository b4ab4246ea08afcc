"""The SQL a claim strategy runs to take seats: read, lock, and write a hold.

Every function runs inside the caller's transaction, with the lock order of ``bookings``
(member row, hold row, reservation row, seat rows in id order). A claim is made of as few
statements as its guarantees allow, sent in as few round trips (``round_trips``: the
member lock and the read after it travel together, so do the holds row and the seat
update, and the hold's seat rows and event ride with the COMMIT);
``tests/integration/service/test_statement_counts.py`` keeps both counts from creeping
back. Seats are always addressed by primary key (``seats.hold_id`` has no index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.adapters.db import to_db
from service.adapters.outbox import record_event
from service.adapters.round_trips import Statement, batch, defer
from service.adapters.zone_versions import learn_zones, note_changed
from service.domain import events
from service.domain.errors import NotFound
from service.domain.holds import Hold, HoldStatus, SeatRef, hold_amount

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


async def lock_seats(
    cur: Cursor, seats: Sequence[SeatState], *, nowait: bool = False
) -> list[SeatState]:
    """``seats`` (read without locks) as they are once their rows are locked, in id order."""
    live = await _lock_seat_rows(cur, [s.ref.id for s in seats], nowait=nowait)
    return [
        SeatState(
            s.ref, live[s.ref.id]["status"], live[s.ref.id]["version"], live[s.ref.id]["hold_id"]
        )
        for s in seats
    ]


def require_all(seat_ids: Sequence[int], seats: Sequence[SeatState]) -> None:
    missing = sorted(set(seat_ids) - {s.ref.id for s in seats})
    if missing:
        raise NotFound("seats", missing)


LOCK_MEMBER = "SELECT id FROM members WHERE id = %s FOR UPDATE"


async def lock_member(cur: Cursor, member_id: int) -> None:
    """Serialises one member's concurrent requests, so two of them can't both pass the limit.

    Must be the transaction's first statement: a REPEATABLE READ snapshot starts at the
    first plain read, and the count that follows has to see the member's last commit.
    """
    await cur.execute(LOCK_MEMBER, (member_id,))
    if await cur.fetchone() is None:
        raise NotFound("member", member_id)


LIVE_SEATS_OF_MEMBER = (
    "(SELECT COUNT(*) FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id"
    " WHERE h.member_id = %s AND h.concert_id = %s AND h.status = 'ACTIVE'"
    " AND h.expires_at > %s)"
    " + (SELECT COUNT(*) FROM reservations r JOIN hold_seats hs ON hs.hold_id = r.hold_id"
    " WHERE r.member_id = %s AND r.concert_id = %s AND (r.status = 'CONFIRMED'"
    " OR (r.status = 'AWAITING_PAYMENT' AND r.expires_at > %s)))"
)


def _live_seats_args(member_id: int, concert_id: int, moment: datetime) -> tuple[Any, ...]:
    return (member_id, concert_id, moment, member_id, concert_id, moment)


async def member_seat_count(cur: Cursor, member_id: int, concert_id: int, now: datetime) -> int:
    """Seats the member holds or has reserved for the concert, after ``lock_member``.

    Holds and unpaid reservations past their ``expires_at`` no longer count: their release
    may lag (a slow consumer), and the member should not pay for that lag.
    """
    moment = to_db(now)
    await cur.execute(
        f"SELECT {LIVE_SEATS_OF_MEMBER} AS n", _live_seats_args(member_id, concert_id, moment)
    )
    row = await cur.fetchone()
    return int(row["n"])


@dataclass(frozen=True)
class ClaimContext:
    """What a claim reads before it writes: the seats asked for, the concert's ticket limit
    and how many seats the member already has there (see ``member_seat_count``)."""

    seats: list[SeatState]
    ticket_limit: int
    already: int


async def read_claim_context(
    cur: Cursor, member_id: int, concert_id: int, seat_ids: Sequence[int], now: datetime
) -> ClaimContext:
    """The member lock (``lock_member``), then the seats, the limit and the member's count
    in one statement: two statements, one round trip. Must open the transaction.

    The read must not be folded into the lock's own statement: a statement's snapshot is
    taken when it starts, before it waits for the member row, so the count would miss the
    member's transaction it waited for. As the next statement of the same packet it starts
    only once the lock is granted (the server runs them in turn), and sees it.
    Driven from the concert (one row even when no seat matches), so an unknown concert is
    told from unknown seats without another query. The seats' zones are remembered for
    the zone-version bump (``zone_versions.learn_zones``).
    """
    moment = to_db(now)
    context: Statement = (
        "SELECT c.ticket_limit, s.id, z.code, s.row_label, s.number, s.price, s.status,"
        f" s.version, s.hold_id, s.concert_id, s.zone_id, {LIVE_SEATS_OF_MEMBER} AS already"
        " FROM concerts c LEFT JOIN seats s ON s.concert_id = c.id"
        f" AND s.id IN ({placeholders(seat_ids)}) LEFT JOIN zones z ON z.id = s.zone_id"
        " WHERE c.id = %s ORDER BY s.id",
        (*_live_seats_args(member_id, concert_id, moment), *seat_ids, concert_id),
    )
    locked, read = await batch(cur, [(LOCK_MEMBER, (member_id,)), context])
    if not locked.rows:
        raise NotFound("member", member_id)
    rows = read.rows
    if not rows:
        raise NotFound("concert", concert_id)
    learn_zones(cur, rows)
    seats = [
        SeatState(
            SeatRef(r["id"], r["code"], r["row_label"], r["number"], r["price"]),
            r["status"],
            r["version"],
            r["hold_id"],
        )
        for r in rows
        if r["id"] is not None
    ]
    return ClaimContext(seats, int(rows[0]["ticket_limit"]), int(rows[0]["already"]))


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
    """An ACTIVE hold, one hold_seats row per seat and its event; the seats are not touched.

    For tests and tools that write a hold outside a claim (its seats carry no claimed_at);
    the claim strategies use ``insert_hold_row`` and ``insert_hold_seats`` around their
    seat update instead."""
    hold = await insert_hold_row(
        cur,
        concert_id=concert_id,
        member_id=member_id,
        seats=seats,
        strategy=strategy,
        now=now,
        expires_at=expires_at,
    )
    await insert_hold_seats(cur, hold, claimed=False)
    return hold


async def insert_hold_row(
    cur: Cursor,
    *,
    concert_id: int,
    member_id: int,
    seats: Sequence[SeatRef],
    strategy: str,
    now: datetime,
    expires_at: datetime,
) -> Hold:
    """The ACTIVE holds row alone (``insert_hold_and`` with nothing after it)."""
    hold, _ = await insert_hold_and(
        cur,
        concert_id=concert_id,
        member_id=member_id,
        seats=seats,
        strategy=strategy,
        now=now,
        expires_at=expires_at,
        then=(),
    )
    return hold


async def insert_hold_and(
    cur: Cursor,
    *,
    concert_id: int,
    member_id: int,
    seats: Sequence[SeatRef],
    strategy: str,
    now: datetime,
    expires_at: datetime,
    then: Sequence[Statement],
) -> tuple[Hold, list[int]]:
    """The ACTIVE holds row, then ``then`` in the same round trip: the claim's seat updates
    (``claim_seats``), which name the new hold as ``LAST_INSERT_ID()`` since its id is only
    known once the row is in. The hold, and the rows each of ``then`` changed."""
    amount = hold_amount(seats)
    inserted, *updated = await batch(
        cur,
        [
            (
                "INSERT INTO holds (concert_id, member_id, status, strategy, amount, created_at,"
                " expires_at) VALUES (%s, %s, 'ACTIVE', %s, %s, %s, %s)",
                (concert_id, member_id, strategy, amount, to_db(now), to_db(expires_at)),
            ),
            *then,
        ],
    )
    hold = Hold(
        id=int(inserted.lastrowid or 0),
        concert_id=concert_id,
        member_id=member_id,
        status=HoldStatus.ACTIVE,
        amount=amount,
        created_at=now,
        expires_at=expires_at,
        seats=list(seats),
        strategy=strategy,
    )
    return hold, [result.rowcount for result in updated]


def claim_seats(seat_ids: Sequence[int], *, guarded: bool) -> Statement:
    """For ``insert_hold_and``: the new hold takes ``seat_ids``; ``guarded``, only those
    still AVAILABLE (the database decides per row, and rows affected tell how many)."""
    return (
        "UPDATE seats SET status = 'HELD', hold_id = LAST_INSERT_ID(), version = version + 1"
        f" WHERE id IN ({placeholders(seat_ids)})"
        + (" AND status = 'AVAILABLE'" if guarded else ""),
        tuple(seat_ids),
    )


async def insert_hold_seats(cur: Cursor, hold: Hold, *, claimed: bool = True) -> None:
    """The hold's seat rows in one multi-row INSERT, then its ``hold.created`` event.

    ``claimed``: the rows are written after the seats were (after any lock wait), and
    stamp that moment as ``claimed_at`` (the lab's double-booking check compares claims by
    it); the stamp rides on this INSERT instead of costing an UPDATE of its own. Both
    statements are deferred (``round_trips.defer``): nothing reads their results, so they
    ride with the transaction's next statement, the COMMIT in a claim.
    """
    stamp = "UTC_TIMESTAMP(6)" if claimed else "NULL"
    if hold.seats:
        await defer(
            cur,
            "INSERT INTO hold_seats (hold_id, seat_id, concert_id, price, claimed_at) VALUES "
            + ", ".join([f"(%s, %s, %s, %s, {stamp})"] * len(hold.seats)),
            tuple(
                value
                for seat in hold.seats
                for value in (hold.id, seat.id, hold.concert_id, seat.price)
            ),
        )
    await record_event(
        cur,
        events.HOLD_CREATED,
        str(hold.id),
        {
            "concert_id": hold.concert_id,
            "member_id": hold.member_id,
            "seat_ids": [seat.id for seat in hold.seats],
            "amount": hold.amount,
            "strategy": hold.strategy,
            "expires_at": hold.expires_at,
        },
        deferred=True,
    )


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
