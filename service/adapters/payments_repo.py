"""The SQL of payments and webhook events, run inside the caller's transaction.

Lock order, shared with ``bookings``, ``reservations`` and the expiry consumer: (webhook
event row,) hold row, reservation row, payment row, then seats in id order.
``reservations.lock_reservation`` takes the hold before the reservation for that reason:
``release_expired_hold`` does the same, so a payment and an expiry racing for one
reservation queue up instead of deadlocking, and whichever commits second sees the
other's result.

"Sees" needs the settling transaction to run at READ COMMITTED (``SETTLE_ISOLATION`` of
``service.usecases.payments.settle``): at MariaDB's default REPEATABLE READ the first plain
SELECT fixes the snapshot *before* the lock wait, and every later plain read (the
reservation, the other payments, the hold's seats) would show the rows as they were then
— an expiry or a second payment that committed during the wait would go unseen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from service.adapters.db import to_db
from service.domain.payments import (
    Outcome,
    PaymentRecord,
    PaymentStatus,
    ProviderPayment,
    Settlement,
)
from service.domain.reservations import Reservation

Cursor = Any


async def paid_by_other(cur: Cursor, order_id: str, payment_key: str) -> bool:
    """Another payment confirmed the order; read under the hold lock that every settle of
    this order takes first, so a concurrent settle has committed (or not begun) by now."""
    await cur.execute(
        "SELECT 1 FROM payments WHERE order_id = %s AND confirmed = 1 AND payment_key <> %s",
        (order_id, payment_key),
    )
    return await cur.fetchone() is not None


async def add_payment(
    cur: Cursor,
    *,
    payment_key: str,
    reservation: Reservation,
    amount: int,
    now: datetime,
    next_check_at: datetime,
) -> None:
    """A READY row for the payment unless one exists (concurrent confirms insert once)."""
    await cur.execute(
        "INSERT INTO payments (payment_key, order_id, reservation_id, member_id, amount,"
        " status, next_check_at, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, 'READY', %s, %s, %s)"
        " ON DUPLICATE KEY UPDATE id = id",  # INSERT IGNORE would warn
        (
            payment_key,
            reservation.order_id,
            reservation.id,
            reservation.member_id,
            amount,
            to_db(next_check_at),
            to_db(now),
            to_db(now),
        ),
    )


def _record(row: dict[str, Any]) -> PaymentRecord:
    return PaymentRecord(
        payment_key=row["payment_key"],
        order_id=row["order_id"],
        status=PaymentStatus(row["status"]),
        amount=row["amount"],
        confirmed=bool(row["confirmed"]),
        settled=bool(row["settled"]),
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
    )


async def get_payment(cur: Cursor, payment_key: str, *, lock: bool = False) -> PaymentRecord | None:
    await cur.execute(
        "SELECT * FROM payments WHERE payment_key = %s" + (" FOR UPDATE" if lock else ""),
        (payment_key,),
    )
    row = await cur.fetchone()
    return None if row is None else _record(row)


async def store_settlement(
    cur: Cursor,
    payment_key: str,
    settlement: Settlement,
    observed: ProviderPayment,
    *,
    source: str,
    now: datetime,
    next_check_at: datetime,
) -> None:
    """Write what ``settle`` decided. A stale verdict changes nothing but the bookkeeping."""
    if settlement.stale:
        return
    captured = observed.total_amount if observed.status in _CAPTURED else 0
    await cur.execute(
        "UPDATE payments SET status = %s, outcome = %s, settled = %s, captured_amount = %s,"
        " refunded_amount = %s, failure_code = COALESCE(%s, failure_code),"
        " confirmed = confirmed OR %s, last_source = %s, writes = writes + 1,"
        " next_check_at = %s, updated_at = %s,"
        " approved_at = COALESCE(approved_at, IF(%s > 0, %s, NULL)),"
        " refunded_at = IF(%s > 0, COALESCE(refunded_at, %s), refunded_at)"
        " WHERE payment_key = %s",
        (
            settlement.status,
            settlement.outcome.value,
            settlement.settled,
            captured,
            observed.refunded_amount,
            observed.failure_code,
            settlement.action.value == "confirm",
            source,
            to_db(next_check_at),
            to_db(now),
            captured,
            to_db(now),
            observed.refunded_amount,
            to_db(now),
            payment_key,
        ),
    )


_CAPTURED = frozenset({PaymentStatus.DONE, PaymentStatus.PARTIAL_CANCELED, PaymentStatus.CANCELED})


async def mark_outcome(
    cur: Cursor, payment_key: str, outcome: Outcome, *, settled: bool, failure_code: str | None
) -> int:
    """For answers that carry no payment (a refusal): record why, settle if final.

    Only a payment with no outcome yet (or a pending one) is marked: a refusal that arrives
    after the payment was confirmed, refunded or is owed a refund must not hide that.
    """
    await cur.execute(
        "UPDATE payments SET outcome = %s, settled = %s, failure_code = %s"
        " WHERE payment_key = %s AND (outcome IS NULL OR outcome = %s)",
        (outcome.value, settled, failure_code, payment_key, Outcome.PENDING.value),
    )
    return int(cur.rowcount)


async def forget_payment(cur: Cursor, payment_key: str, order_id: str) -> int:
    """Drop a row that tied ``payment_key`` to ``order_id`` when the provider did not.

    The confirm writes its row before calling the provider (so that a lost answer is still
    reconciled); when the provider refuses the pair, keeping the row would bind the key to
    the wrong order and refuse the right confirm later. Only a row that nothing has settled
    or captured is dropped.
    """
    await cur.execute(
        "DELETE FROM payments WHERE payment_key = %s AND order_id = %s AND confirmed = 0"
        " AND captured_amount = 0 AND status = 'READY' AND (outcome IS NULL OR outcome = %s)",
        (payment_key, order_id, Outcome.PENDING.value),
    )
    return int(cur.rowcount)


async def rebind_payment(cur: Cursor, payment_key: str, reservation: Reservation) -> int:
    """The provider says which order a payment belongs to: follow it, unless it confirmed one.

    A confirm naming the wrong order leaves its row for a moment before ``forget_payment``;
    a webhook for the key arriving in that moment must settle the payment's own order.
    """
    await cur.execute(
        "UPDATE payments SET order_id = %s, reservation_id = %s, member_id = %s, amount = %s"
        " WHERE payment_key = %s AND confirmed = 0",
        (
            reservation.order_id,
            reservation.id,
            reservation.member_id,
            reservation.amount,
            payment_key,
        ),
    )
    return int(cur.rowcount)


async def overwrite_payment(
    cur: Cursor, payment_key: str, observed: ProviderPayment, *, source: str, now: datetime
) -> None:
    await cur.execute(
        "UPDATE payments SET status = %s, captured_amount = IF(%s = 'DONE', %s, captured_amount),"
        " confirmed = (%s = 'DONE'), settled = 1, outcome = %s, last_source = %s,"
        " writes = writes + 1, updated_at = %s WHERE payment_key = %s",
        (
            observed.status.value,
            observed.status.value,
            observed.total_amount,
            observed.status.value,
            Outcome.CONFIRMED.value if observed.status is PaymentStatus.DONE else "pending",
            source,
            to_db(now),
            payment_key,
        ),
    )


async def record_event_received(
    cur: Cursor,
    *,
    event_id: str,
    event_type: str,
    payment_key: str | None,
    order_id: str | None,
    reported_status: str | None,
    now: datetime,
) -> int:
    """Store the event id under its unique key (or count a redelivery); times applied so far."""
    moment = to_db(now)
    await cur.execute(
        "INSERT INTO webhook_events (event_id, event_type, payment_key, order_id,"
        " reported_status, first_received_at, last_received_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON DUPLICATE KEY UPDATE deliveries = deliveries + 1, last_received_at = %s",
        (event_id, event_type, payment_key, order_id, reported_status, moment, moment, moment),
    )
    await cur.execute("SELECT times_applied FROM webhook_events WHERE event_id = %s", (event_id,))
    row = await cur.fetchone()
    return int(row["times_applied"])


async def lock_event(cur: Cursor, event_id: str) -> int:
    await cur.execute(
        "SELECT times_applied FROM webhook_events WHERE event_id = %s FOR UPDATE", (event_id,)
    )
    row = await cur.fetchone()
    return int(row["times_applied"]) if row else 0


async def mark_event_applied(
    cur: Cursor, event_id: str, applied_status: str, now: datetime
) -> None:
    await cur.execute(
        "UPDATE webhook_events SET times_applied = times_applied + 1, applied_status = %s,"
        " applied_at = %s WHERE event_id = %s",
        (applied_status, to_db(now), event_id),
    )


async def claim_unsettled(
    cur: Cursor, now: datetime, limit: int, lease_s: float
) -> list[dict[str, Any]]:
    """Up to ``limit`` unsettled payments due for a check that nobody else has claimed.

    FOR UPDATE SKIP LOCKED picks rows another worker is claiming right now; pushing
    ``next_check_at`` out by a growing lease before the commit keeps them from being picked
    again until this worker has had its go, so N workers never check one payment at once.
    """
    await cur.execute(
        "SELECT id, payment_key, order_id, check_attempts FROM payments"
        " WHERE settled = 0 AND next_check_at <= %s ORDER BY next_check_at, id"
        " LIMIT %s FOR UPDATE SKIP LOCKED",
        (to_db(now), limit),
    )
    rows = list(await cur.fetchall())
    for row in rows:
        backoff = min(lease_s * 2 ** min(row["check_attempts"], 6), 300.0)
        await cur.execute(
            "UPDATE payments SET check_attempts = check_attempts + 1, next_check_at = %s"
            " WHERE id = %s",
            (to_db(now + timedelta(seconds=backoff)), row["id"]),
        )
    return rows
