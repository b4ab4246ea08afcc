"""Seat invariants: no seat held or sold twice, and seat counts that add up.

Both read only the booking tables, in one consistent snapshot. A double booking is a fact
once it has happened, whatever settles later, so these never wait on the quiesce step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scenarios.checks.claims import SOLD, STALE, Claim, Claims, claims_of, overlapping
from scenarios.checks.result import CheckResult, judge
from scenarios.checks.snapshot import DbState

NO_DOUBLE_BOOKING = "no-double-booking"
SEAT_COUNTS = "seat-counts-conserved"

SEAT_STATUSES = ("AVAILABLE", "HELD", "RESERVED", "SOLD")

#: Default tolerance for two claims' overlap: more than the service's pool timeout plus its
#: lock-wait timeout (2 s + 3 s by default), what a hold request may spend before claiming.
DEFAULT_CLAIM_SLACK_S = 10.0


def no_double_booking(db: DbState, slack_s: float = DEFAULT_CLAIM_SLACK_S) -> CheckResult:
    """No seat claimed by two holds at once, and none covered by two confirmed reservations.

    Claims are intervals (see :mod:`scenarios.checks.claims`), so a double hold that both
    expired before the check still counts. Two quantities, never added up under one name:
    ``seats_sold_twice`` — seats with two or more confirmed reservations — and
    ``seats_held_twice`` — seats two claims held at once without two sales.
    Overlaps up to ``slack_s`` are clock noise, not double bookings (see
    :func:`scenarios.checks.claims.overlapping`); two sales of a seat always count.
    """
    found: list[dict[str, Any]] = []
    sold_twice = extra_tickets = 0
    for seat_id, claims in sorted(claims_of(db).by_seat.items()):
        involved = overlapping(claims, slack_s)
        if not involved:
            continue
        sold = [c for c in claims if c.state == SOLD]
        if len(sold) > 1:
            sold_twice += 1
            extra_tickets += len(sold) - 1
        found.append(
            {
                "seat_id": seat_id,
                "problem": "sold twice" if len(sold) > 1 else "held twice",
                "holds": [c.hold_id for c in involved],
                "reservations": [c.reservation_id for c in involved if c.reservation_id],
                "confirmed_reservations": [c.reservation_id for c in sold],
                "overlap_from": max(c.start for c in involved),
            }
        )
    return judge(
        NO_DOUBLE_BOOKING,
        definite=found,
        what="seats held or sold twice",
        metrics={
            "seats_held_twice": len(found) - sold_twice,
            "seats_sold_twice": sold_twice,
            "tickets_sold_twice": extra_tickets,
            "slack_s": slack_s,
        },
    )


def seat_counts_conserved(
    db: DbState,
    capacity: Mapping[int, int] | None = None,
    slack_s: float = DEFAULT_CLAIM_SLACK_S,
) -> CheckResult:
    """Every seat's status agrees with the claims on it, and no seat appeared or vanished.

    ``capacity`` maps concert id → seats its venue was seeded with (from the scenario's
    venue size); without it only the status agreement is checked. A seat that was ever
    double-booked is left to :func:`no_double_booking` and counted as ``contested_seats``:
    its status is whatever the last writer left (naive releases only seats it still owns),
    and counting that fallout again would fail every variant that oversells.
    """
    claims = claims_of(db)
    statuses = _status_problems(db, claims, slack_s)
    found = [*_capacity_problems(db, capacity), *_dangling_rows(db, claims), *statuses.found]
    by_status = Counter(s.status for s in db.seats)
    metrics: dict[str, int] = {"seats": len(db.seats), "contested_seats": statuses.contested}
    metrics.update({status.lower(): by_status.get(status, 0) for status in SEAT_STATUSES})
    metrics.update(
        {
            f"live_{state.lower()}_claims": statuses.live_by_state.get(state, 0)
            for state in ("HELD", "RESERVED", "SOLD")
        }
    )
    return judge(SEAT_COUNTS, definite=found, what="seat count discrepancies", metrics=metrics)


def _capacity_problems(db: DbState, capacity: Mapping[int, int] | None) -> list[dict[str, Any]]:
    """Concerts whose seat rows are more or fewer than their venue was seeded with."""
    found: list[dict[str, Any]] = []
    seats_by_concert = Counter(s.concert_id for s in db.seats)
    for concert_id, expected in sorted((capacity or {}).items()):
        if seats_by_concert.get(concert_id, 0) != expected:
            found.append(
                {
                    "concert_id": concert_id,
                    "problem": "seat rows differ from capacity",
                    "capacity": expected,
                    "seats": seats_by_concert.get(concert_id, 0),
                }
            )
    return found


def _dangling_rows(db: DbState, claims: Claims) -> list[dict[str, Any]]:
    """Rows pointing nowhere: claims of missing holds or seats, reservations of missing holds."""
    found: list[dict[str, Any]] = []
    for row in claims.orphan_hold_seats:
        found.append(
            {
                "seat_id": row.seat_id,
                "problem": "claim of a missing hold",
                "hold_id": row.hold_id,
                "hold_seat_id": row.id,
            }
        )
    hold_ids = {h.id for h in db.holds}
    for res in db.reservations:
        if res.hold_id not in hold_ids:
            found.append(
                {
                    "reservation_id": res.id,
                    "problem": "reservation of a missing hold",
                    "hold_id": res.hold_id,
                }
            )
    seat_ids = {s.id for s in db.seats}
    for seat_id in sorted(set(claims.by_seat) - seat_ids):
        found.append(
            {
                "seat_id": seat_id,
                "problem": "claim of a missing seat",
                "holds": [c.hold_id for c in claims.by_seat[seat_id]],
            }
        )
    return found


@dataclass
class _SeatStatuses:
    found: list[dict[str, Any]] = field(default_factory=list)
    contested: int = 0
    live_by_state: Counter[str] = field(default_factory=Counter)


def _status_problems(db: DbState, claims: Claims, slack_s: float) -> _SeatStatuses:
    """Each uncontested seat's status against its live claim, and its stale claims."""
    out = _SeatStatuses()
    for seat in sorted(db.seats, key=lambda s: s.id):
        seat_claims = claims.by_seat.get(seat.id, [])
        if overlapping(seat_claims, slack_s):
            out.contested += 1  # double-booked: reported by no_double_booking, with its fallout
            continue
        live = [c for c in seat_claims if c.live]
        for stale in (c for c in live if c.state == STALE):
            out.found.append(
                {
                    "seat_id": seat.id,
                    "problem": "hold seat left unreleased after its hold or reservation ended",
                    "status": seat.status,
                    "hold_id": stale.hold_id,
                    "reservation_id": stale.reservation_id,
                }
            )
        current = [c for c in live if c.state != STALE]  # at most one: none overlap
        claim = current[0] if current else None
        if claim is not None:
            out.live_by_state[claim.state] += 1
        problem = _disagreement(seat.status, seat.hold_id, claim)
        if problem:
            out.found.append(
                {
                    "seat_id": seat.id,
                    "problem": problem,
                    "status": seat.status,
                    "expected": "AVAILABLE" if claim is None else claim.state,
                    "seat_hold_id": seat.hold_id,
                    "hold_id": None if claim is None else claim.hold_id,
                    "reservation_id": None if claim is None else claim.reservation_id,
                }
            )
    return out


def _disagreement(status: str, seat_hold_id: int | None, claim: Claim | None) -> str | None:
    if claim is None:
        return None if status == "AVAILABLE" else f"{status.lower()} seat with no live claim"
    if status != claim.state:
        return f"{status.lower()} seat whose claim says {claim.state.lower()}"
    if seat_hold_id is not None and seat_hold_id != claim.hold_id:
        return "seat points at a different hold than its claim"
    return None
