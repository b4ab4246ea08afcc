"""No hold outlives its TTL: expiry must free seats within ``grace_s`` of ``expires_at``.

The delay queue releases a hold at its expiry and the sweeper is the backstop; ``grace_s``
is how late either may be. Violations, all definite:
- still alive at ``checked_at`` past expiry + grace: an ACTIVE hold, an AWAITING_PAYMENT
  reservation, or unreleased hold seats of a hold or reservation that was not paid;
- freed too late: a hold released by expiry (consumer or sweeper), an EXPIRED reservation,
  or seats of either, whose release time is past expiry + grace — a late release would
  otherwise be invisible once the run has quiesced.

With none found, the verdict is unknown while the quiesce step says expiries are not yet
all past (a hold could still overstay).
"""

from __future__ import annotations

from typing import Any

from scenarios.checks.claims import reservations_by_hold
from scenarios.checks.result import CheckResult, judge
from scenarios.checks.snapshot import EXPIRIES, DbState, Settlement

NO_HOLD_PAST_TTL = "no-hold-past-ttl"
EXPIRY_RELEASERS = frozenset({"consumer", "sweeper"})


def no_hold_past_ttl(
    db: DbState, grace_s: float, settlement: Settlement | None = None
) -> CheckResult:
    settlement = settlement or Settlement()
    found = [
        *_late_holds(db, grace_s),
        *_late_reservations(db, grace_s),
        *_late_hold_seats(db, grace_s),
    ]
    metrics = {
        "active_holds": sum(1 for h in db.holds if h.status == "ACTIVE"),
        "awaiting_reservations": sum(1 for r in db.reservations if r.status == "AWAITING_PAYMENT"),
        "grace_s": grace_s,
        "max_overdue_s": max((f["overdue_s"] for f in found), default=None),
    }
    return judge(
        NO_HOLD_PAST_TTL,
        definite=found,
        unsettled=settlement.among(EXPIRIES),
        what="holds or seats alive past TTL + grace",
        metrics=metrics,
    )


def _overdue(expires_at: float, at: float, grace_s: float) -> float:
    """How long past expiry + grace ``at`` is (positive: a violation)."""
    return at - (expires_at + grace_s)


def _late_holds(db: DbState, grace_s: float) -> list[dict[str, Any]]:
    """ACTIVE holds past expiry + grace, and holds expiry released later than that."""
    found: list[dict[str, Any]] = []
    for h in sorted(db.holds, key=lambda h: h.id):
        if h.status == "ACTIVE" and _overdue(h.expires_at, db.checked_at, grace_s) > 0:
            found.append(
                _late(
                    "hold alive past TTL",
                    hold_id=h.id,
                    expires_at=h.expires_at,
                    overdue_s=_overdue(h.expires_at, db.checked_at, grace_s),
                )
            )
        elif (
            h.status == "RELEASED"
            and h.released_by in EXPIRY_RELEASERS
            and h.released_at is not None
            and _overdue(h.expires_at, h.released_at, grace_s) > 0
        ):
            found.append(
                _late(
                    "hold released late",
                    hold_id=h.id,
                    expires_at=h.expires_at,
                    released_at=h.released_at,
                    released_by=h.released_by,
                    overdue_s=_overdue(h.expires_at, h.released_at, grace_s),
                )
            )
    return found


def _late_reservations(db: DbState, grace_s: float) -> list[dict[str, Any]]:
    """Unpaid reservations past expiry + grace, and EXPIRED ones released later than that."""
    found: list[dict[str, Any]] = []
    for r in sorted(db.reservations, key=lambda r: r.id):
        if r.status == "AWAITING_PAYMENT" and _overdue(r.expires_at, db.checked_at, grace_s) > 0:
            found.append(
                _late(
                    "unpaid reservation alive past TTL",
                    reservation_id=r.id,
                    hold_id=r.hold_id,
                    expires_at=r.expires_at,
                    overdue_s=_overdue(r.expires_at, db.checked_at, grace_s),
                )
            )
        elif (
            r.status == "EXPIRED"
            and r.released_at is not None
            and _overdue(r.expires_at, r.released_at, grace_s) > 0
        ):
            found.append(
                _late(
                    "reservation released late",
                    reservation_id=r.id,
                    hold_id=r.hold_id,
                    expires_at=r.expires_at,
                    released_at=r.released_at,
                    overdue_s=_overdue(r.expires_at, r.released_at, grace_s),
                )
            )
    return found


def _late_hold_seats(db: DbState, grace_s: float) -> list[dict[str, Any]]:
    """Seats of unpaid holds or reservations still claimed, or freed, past expiry + grace.

    A seat's deadline is its reservation's expiry when it has one (a reservation inherits
    its hold's, but the reservation's is the one the service enforces), else its hold's.
    """
    holds = {h.id: h for h in db.holds}
    res_by_hold = reservations_by_hold(db.reservations)
    found: list[dict[str, Any]] = []
    for hs in sorted(db.hold_seats, key=lambda hs: hs.id):
        hold = holds.get(hs.hold_id)
        res = res_by_hold.get(hs.hold_id)
        if hold is None or (res is not None and res.status == "CONFIRMED"):
            continue
        freed_by_member = hold.status == "RELEASED" and hold.released_by not in EXPIRY_RELEASERS
        if freed_by_member and hs.released_at is not None:
            continue  # freed before expiry; how late expiry would have been does not apply
        expires_at = hold.expires_at if res is None else res.expires_at
        at = db.checked_at if hs.released_at is None else hs.released_at
        if _overdue(expires_at, at, grace_s) > 0:
            problem = "seat still held past TTL" if hs.released_at is None else "seat freed late"
            found.append(
                _late(
                    problem,
                    seat_id=hs.seat_id,
                    hold_id=hs.hold_id,
                    reservation_id=None if res is None else res.id,
                    expires_at=expires_at,
                    released_at=hs.released_at,
                    overdue_s=_overdue(expires_at, at, grace_s),
                )
            )
    return found


def _late(problem: str, **fields: Any) -> dict[str, Any]:
    fields["overdue_s"] = round(fields["overdue_s"], 6)
    return {"problem": problem, **fields}
