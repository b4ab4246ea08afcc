"""Money conservation: what the provider kept is exactly what the confirmed seats cost.

Two statements, both checked:
1. in total, provider captured − refunded == the sum of CONFIRMED reservations' amounts;
2. every captured payment has exactly one confirmed reservation (its order, same amount,
   no other unrefunded capture for that order) or a full refund; and every confirmed
   reservation has such a payment.

Payments are matched to reservations by ``order_id``. A payment still in flight, or the
quiesce step reporting payments or webhooks unsettled, turns discrepancies into "possible"
ones: a late webhook or the reconciler may still fix them, so the verdict is unknown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from scenarios.checks.result import CheckResult, judge
from scenarios.checks.snapshot import (
    PAYMENTS,
    WEBHOOKS,
    Ledger,
    LedgerPayment,
    ReservationRow,
    Settlement,
)

MONEY_CONSERVED = "money-conserved"
IN_FLIGHT = frozenset({"IN_PROGRESS"})


def money_conservation(
    reservations: Sequence[ReservationRow],
    ledger: Ledger,
    settlement: Settlement | None = None,
) -> CheckResult:
    """Check both statements above; counterexamples name the payment and reservation."""
    settlement = settlement or Settlement()
    by_order = {r.order_id: r for r in reservations}
    payments_by_order: dict[str, list[LedgerPayment]] = defaultdict(list)
    for p in ledger.payments:
        payments_by_order[p.order_id].append(p)

    found: list[dict[str, Any]] = []
    for p in sorted(ledger.payments, key=lambda p: p.payment_key):
        problem = _payment_problem(p, by_order.get(p.order_id), payments_by_order[p.order_id])
        if problem:
            res = by_order.get(p.order_id)
            found.append(
                {
                    "problem": problem,
                    "payment_key": p.payment_key,
                    "order_id": p.order_id,
                    "payment_status": p.status,
                    "captured": p.captured,
                    "refunded": p.refunded,
                    "reservation_id": None if res is None else res.id,
                    "reservation_status": None if res is None else res.status,
                    "amount": None if res is None else res.amount,
                }
            )

    confirmed = [r for r in reservations if r.status == "CONFIRMED"]
    for r in sorted(confirmed, key=lambda r: r.id):
        if not any(p.net > 0 for p in payments_by_order.get(r.order_id, ())):
            found.append(
                {
                    "problem": "confirmed without a captured payment",
                    "reservation_id": r.id,
                    "order_id": r.order_id,
                    "amount": r.amount,
                }
            )

    captured = sum(p.captured for p in ledger.payments)
    refunded = sum(p.refunded for p in ledger.payments)
    confirmed_amount = sum(r.amount for r in confirmed)
    if captured - refunded != confirmed_amount:
        found.append(
            {
                "problem": "captured − refunded differs from confirmed reservations' amounts",
                "captured": captured,
                "refunded": refunded,
                "net": captured - refunded,
                "confirmed_amount": confirmed_amount,
            }
        )

    in_flight = [p.payment_key for p in ledger.payments if p.status in IN_FLIGHT]
    unsettled = settlement.among(PAYMENTS, WEBHOOKS)
    if in_flight:
        unsettled.setdefault(PAYMENTS, f"{len(in_flight)} payments in flight at the provider")
    if ledger.pending_deliveries:
        unsettled.setdefault(WEBHOOKS, f"{ledger.pending_deliveries} webhook chains retrying")
    metrics = {
        "captured": captured,
        "refunded": refunded,
        "net": captured - refunded,
        "confirmed_amount": confirmed_amount,
        "confirmed_reservations": len(confirmed),
        "payments": len(ledger.payments),
        "refunded_payments": sum(1 for p in ledger.payments if p.refunded),
        "in_flight_payments": len(in_flight),
    }
    if unsettled:
        return judge(
            MONEY_CONSERVED,
            definite=(),
            possible=found,
            unsettled=unsettled,
            what="money discrepancies",
            metrics=metrics,
        )
    return judge(MONEY_CONSERVED, definite=found, what="money discrepancies", metrics=metrics)


def _payment_problem(
    p: LedgerPayment, res: ReservationRow | None, same_order: Sequence[LedgerPayment]
) -> str | None:
    if p.captured <= 0:
        return "refunded a payment never captured" if p.refunded > 0 else None
    if p.refunded == p.captured:
        return None
    if p.refunded > p.captured:
        return "refunded more than captured"
    if p.refunded > 0:
        return "partially refunded"
    if res is None:
        return "captured with no reservation, not refunded"
    if res.status != "CONFIRMED":
        return f"captured for a {res.status} reservation, not refunded"
    if p.captured != res.amount:
        return "captured amount differs from the reservation's amount"
    if sum(1 for q in same_order if q.net > 0) > 1:
        return "one of several unrefunded captures for one reservation"
    return None
