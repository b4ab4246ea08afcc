"""Seat claims: the interval during which a hold_seats row kept a seat off sale.

The final snapshot alone cannot show a double hold that expired before the check ran, so
the seat checks reason about intervals instead: a claim starts when its hold was created
and ends when its seat went back on sale — never, if its reservation was confirmed.

End of a claim, first that applies:
1. its reservation is CONFIRMED → never ends (the seat is sold);
2. ``hold_seats.released_at``;
3. its reservation is EXPIRED or CANCELED → ``reservations.released_at``;
4. its hold is RELEASED → ``holds.released_at``;
5. otherwise it is still live (``end`` is None).

A row left unreleased after its hold or reservation ended is a *stale* claim: for overlap
it ends when its hold or reservation did, but the seat checks report it, because a claim
strategy that looks for unreleased rows would still see the seat as taken.

This assumes the service sets ``hold_seats.released_at`` when a seat goes back on sale and
not when a hold converts into a reservation (the reservation inherits the hold's seats).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from scenarios.checks.snapshot import DbState, HoldRow, HoldSeatRow, ReservationRow

CONFIRMED = "CONFIRMED"
AWAITING_PAYMENT = "AWAITING_PAYMENT"
RELEASED_RESERVATION = frozenset({"EXPIRED", "CANCELED"})

PRECISE_SLACK_S = 0.05

# What a live claim says its seat's status should be.
HELD, RESERVED, SOLD, STALE = "HELD", "RESERVED", "SOLD", "STALE"


@dataclass(frozen=True)
class Claim:
    seat_id: int
    hold_id: int
    start: float
    end: float | None  # None: open-ended (live, sold, or stale with no end time)
    state: str  # HELD | RESERVED | SOLD | STALE (unreleased after its hold/reservation ended)
    reservation_id: int | None = None
    released: bool = False  # ended: the seat went back on sale
    precise: bool = False  # start is when the seats were really taken (holds.claimed_at)

    @property
    def live(self) -> bool:
        return not self.released

    def overlaps(self, other: Claim, slack_s: float = 0.0) -> bool:
        """Both live together for longer than ``slack_s`` (see :func:`overlapping`)."""
        self_end = math.inf if self.end is None else self.end
        other_end = math.inf if other.end is None else other.end
        return max(self.start, other.start) + slack_s < min(self_end, other_end)


def claim_of(row: HoldSeatRow, hold: HoldRow, reservation: ReservationRow | None) -> Claim:
    res_id = None if reservation is None else reservation.id
    res_status = None if reservation is None else reservation.status

    start = hold.created_at if hold.claimed_at is None else hold.claimed_at
    precise = hold.claimed_at is not None

    def claim(end: float | None, state: str, released: bool) -> Claim:
        return Claim(row.seat_id, row.hold_id, start, end, state, res_id, released, precise)

    if res_status == CONFIRMED:
        return claim(None, SOLD, False)
    if row.released_at is not None:
        return claim(row.released_at, "", True)
    # The row is unreleased. Live if its hold or reservation is; otherwise it is a stale row
    # whose seat should have gone back on sale when the hold or reservation ended.
    if reservation is not None and res_status in RELEASED_RESERVATION:
        return claim(reservation.released_at, STALE, False)
    if res_status == AWAITING_PAYMENT:
        return claim(None, RESERVED, False)
    if hold.status == "RELEASED":
        return claim(hold.released_at, STALE, False)
    if hold.status == "ACTIVE" and reservation is None:
        return claim(None, HELD, False)
    return claim(None, STALE, False)  # e.g. CONVERTED with no reservation row


@dataclass(frozen=True)
class Claims:
    """Every claim of the snapshot by seat, and the rows that point nowhere."""

    by_seat: dict[int, list[Claim]]
    orphan_hold_seats: tuple[HoldSeatRow, ...]


def claims_of(db: DbState) -> Claims:
    holds = {h.id: h for h in db.holds}
    reservations = reservations_by_hold(db.reservations)
    by_seat: dict[int, list[Claim]] = defaultdict(list)
    orphans: list[HoldSeatRow] = []
    for row in db.hold_seats:
        hold = holds.get(row.hold_id)
        if hold is None:
            orphans.append(row)
            continue
        by_seat[row.seat_id].append(claim_of(row, hold, reservations.get(row.hold_id)))
    for claims in by_seat.values():
        claims.sort(key=lambda c: (c.start, c.hold_id))
    return Claims(dict(by_seat), tuple(orphans))


def reservations_by_hold(rows: Iterable[ReservationRow]) -> dict[int, ReservationRow]:
    return {r.hold_id: r for r in rows}


def overlapping(claims: list[Claim], slack_s: float = 0.0) -> list[Claim]:
    """The claims of one seat that overlap another claim of that seat by more than ``slack_s``.

    Why a slack: a hold's ``created_at`` is the service's clock at the start of the request,
    before the claim's transaction waits for the pool and for locks, and a release stamps
    its time before its own transaction. A correct strategy can therefore show hold B
    starting a little before hold A's release although B claimed the seat after A let go —
    by at most the time B's request spent in the service before claiming (pool wait plus
    lock waits). A real double booking lasts until one claim ends (an expiry, a release)
    or forever (two sales), far longer.

    When both holds carry ``claimed_at`` (stamped by the database after the seat writes),
    their starts are exact and only ``PRECISE_SLACK_S`` of clock rounding is allowed: a
    short-TTL double booking (seconds) is then caught too.
    """
    involved: dict[int, Claim] = {}
    for i, a in enumerate(claims):
        for b in claims[i + 1 :]:
            slack = PRECISE_SLACK_S if a.precise and b.precise else slack_s
            if a.overlaps(b, slack):
                involved[id(a)] = a
                involved[id(b)] = b
    return sorted(involved.values(), key=lambda c: (c.start, c.hold_id))
