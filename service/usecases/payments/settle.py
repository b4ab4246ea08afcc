"""Settling: what the provider says about a payment, applied once, under the locks.

``settle_observation`` is the one path by which the confirm call, webhooks and the
reconciler change a payment and its reservation. Its unit of work runs at READ COMMITTED
(``SETTLE_ISOLATION``) and reads ``now`` only after the locks: an expiry or another
payment of this order that held the lock while this one waited has committed by then,
and must be what this settlement sees (at REPEATABLE READ the snapshot would date from
before the wait, and a reservation expired meanwhile would be confirmed). A refund owed
is asked of the provider only after the commit; ``refund`` records it, or leaves it owed
for the reconciler.
"""

from __future__ import annotations

import logging
from datetime import datetime

from service.domain import events
from service.domain.holds import ReleasedBy
from service.domain.payments import (
    Action,
    Outcome,
    PaymentRecord,
    PaymentStatus,
    ProviderPayment,
    RefundReason,
    ReservationView,
    Settlement,
    advance,
    blind_write,
    settle,
)
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import Isolation, Refused, UnitOfWork
from service.usecases.payments.deps import Applied, PaymentDeps, idempotency_key

log = logging.getLogger(__name__)

#: Every read after the locks must see the latest commit (see the module's docstring).
SETTLE_ISOLATION = Isolation.READ_COMMITTED
REFUNDING = frozenset({Action.REFUND, Action.EXPIRE_AND_REFUND})


async def settle_observation(
    deps: PaymentDeps,
    observed: ProviderPayment,
    source: str,
    correlation: str | None,
    *,
    event_id: str | None = None,
) -> Applied:
    """Apply what the provider says, in one unit of work; refund afterwards if owed.

    With ``event_id`` (a webhook) the event row is locked first and the application is
    counted on it, so two concurrent deliveries of one event apply it once (unless the
    ``webhook-no-dedupe`` defect is on).
    """
    applied = Applied(None, payment=observed)
    async with deps.uow(SETTLE_ISOLATION) as uow:
        if event_id is not None and await _applied_before(deps, uow, event_id):
            applied.duplicate = True
            return applied
        reservation = await uow.reservations.lock_by_order(observed.order_id)
        now = deps.clock.now()
        if reservation is None:
            if event_id is not None:
                await uow.webhooks.mark_applied(event_id, "unknown-order", now)
                await uow.commit()
            return applied
        applied.reservation_id = reservation.id
        record = await _payment_of(deps, uow, observed, reservation, now)
        if deps.policy.confirm_overwrites:
            settlement = await _overwrite(uow, reservation, observed, source, now)
        else:
            settlement = await _decide(deps, uow, record, reservation, observed, now)
            settlement = await _carry_out(uow, settlement, reservation, observed, now, correlation)
            await _store(deps, uow, settlement, observed, source, now)
        applied.settlement = settlement
        after = await uow.reservations.get(reservation.id)
        applied.reservation_status = after.status if after else None
        if event_id is not None:
            await uow.webhooks.mark_applied(event_id, observed.status.value, now)
        await uow.commit()
    if not settlement.stale:
        deps.metrics.payment_settled(settlement.outcome.value, source)
    if settlement.action in REFUNDING:
        reason = settlement.refund_reason or RefundReason.RESERVATION_EXPIRED
        applied.refunded = await refund(deps, observed, reason, correlation)
    return applied


async def _applied_before(deps: PaymentDeps, uow: UnitOfWork, event_id: str) -> bool:
    """Lock the webhook event's row: was it applied already (and is that to count)?"""
    return await uow.webhooks.lock(event_id) > 0 and not deps.policy.webhook_no_dedupe


async def _payment_of(
    deps: PaymentDeps,
    uow: UnitOfWork,
    observed: ProviderPayment,
    reservation: Reservation,
    now: datetime,
) -> PaymentRecord:
    """The payment's row, locked: made if this is the first news of it, and bound to the
    order the provider says it belongs to unless it already confirmed another."""
    key = observed.payment_key
    await uow.payments.add(
        payment_key=key,
        reservation=reservation,
        amount=reservation.amount,
        now=now,
        next_check_at=deps.policy.recheck_at(now),
    )
    record = await uow.payments.get(key, lock=True)
    assert record is not None
    if record.order_id != observed.order_id and not record.confirmed:
        await uow.payments.rebind(key, reservation)
        record = await uow.payments.get(key, lock=True)
        assert record is not None
    return record


async def _decide(
    deps: PaymentDeps,
    uow: UnitOfWork,
    record: PaymentRecord,
    reservation: Reservation,
    observed: ProviderPayment,
    now: datetime,
) -> Settlement:
    """The state machine's verdict on the payment and the reservation as they are now."""
    other = await uow.payments.paid_by_other(reservation.order_id, observed.payment_key)
    view = ReservationView(reservation.status, reservation.amount, reservation.expires_at, other)
    trust = deps.policy.trust_client_amount
    return settle(record, view, observed, now, trust_client_amount=trust)


async def _carry_out(
    uow: UnitOfWork,
    settlement: Settlement,
    reservation: Reservation,
    observed: ProviderPayment,
    now: datetime,
    correlation: str | None,
) -> Settlement:
    """Carry out the settlement's action; what was actually done (a refund when the seats
    cannot all be sold)."""
    if settlement.action is Action.CONFIRM:
        if not await uow.reservations.confirm(reservation, now):
            log.warning(
                "reservation %s no longer owns all its seats; refunding %s",
                reservation.id,
                observed.payment_key,
            )
            return Settlement(
                settlement.status,
                Action.REFUND,
                Outcome.REFUND_PENDING,
                False,
                RefundReason.SEATS_UNAVAILABLE,
            )
        payload = {
            "reservation_id": reservation.id,
            "order_id": reservation.order_id,
            "payment_key": observed.payment_key,
            "amount": observed.total_amount,
        }
        outbox = uow.outbox
        await outbox.record(events.RESERVATION_CONFIRMED, str(reservation.id), payload, correlation)
        await outbox.record(events.PAYMENT_CAPTURED, observed.payment_key, payload, correlation)
    elif settlement.action is Action.EXPIRE_AND_REFUND:
        # The expiry consumer is late: expire the reservation here so its seats go back.
        await uow.holds.release_expired(reservation.hold_id, ReleasedBy.PAYMENT, now)
    return settlement


async def _store(
    deps: PaymentDeps,
    uow: UnitOfWork,
    settlement: Settlement,
    observed: ProviderPayment,
    source: str,
    now: datetime,
) -> None:
    """Write the verdict; an owed refund is due for a retry sooner than a pending check."""
    retry_at = deps.policy.recheck_at(now)
    if settlement.action in REFUNDING:
        retry_at = deps.policy.refund_retry_at(now)
    await uow.payments.store_settlement(
        observed.payment_key, settlement, observed, source=source, now=now, next_check_at=retry_at
    )


async def _overwrite(
    uow: UnitOfWork, reservation: Reservation, observed: ProviderPayment, source: str, now: datetime
) -> Settlement:
    """``confirm-overwrites``: last writer wins, whatever the states say."""
    await uow.payments.overwrite(observed.payment_key, observed, source=source, now=now)
    if observed.status is PaymentStatus.DONE:
        await uow.reservations.overwrite_status(reservation.id, ReservationStatus.CONFIRMED)
        await uow.reservations.confirm(reservation, now, all_or_nothing=False)
    elif observed.status in (PaymentStatus.READY, PaymentStatus.IN_PROGRESS):
        await uow.reservations.overwrite_status(reservation.id, ReservationStatus.AWAITING_PAYMENT)
    return blind_write(observed)


async def refund(
    deps: PaymentDeps, observed: ProviderPayment, reason: RefundReason, correlation: str | None
) -> bool:
    """Cancel the capture at the provider (idempotently) and record it; False if still owed."""
    key = idempotency_key("refund", observed.order_id, observed.payment_key)
    result = await deps.gateway.cancel(observed.payment_key, f"ticketlab: {reason.value}", key)
    if isinstance(result, Refused) and result.code == "ALREADY_CANCELED_PAYMENT":
        result = await deps.gateway.get_payment(observed.payment_key)
    if not isinstance(result, ProviderPayment):
        log.warning("refund of %s still owed: %s", observed.payment_key, result)
        return False
    now = deps.clock.now()
    async with deps.uow() as uow:
        record = await uow.payments.get(observed.payment_key, lock=True)
        if record is None:
            return False
        if record.outcome is Outcome.REFUNDED:
            return True
        status = advance(record.status, result.status) or record.status
        settlement = Settlement(status, Action.NONE, Outcome.REFUNDED, True, reason)
        await uow.payments.store_settlement(
            observed.payment_key, settlement, result, source="refund", now=now, next_check_at=now
        )
        payload = {
            "order_id": observed.order_id,
            "payment_key": observed.payment_key,
            "amount": result.refunded_amount,
            "reason": reason.value,
        }
        await uow.outbox.record(events.PAYMENT_REFUNDED, observed.payment_key, payload, correlation)
        await uow.commit()
    deps.metrics.refunded(reason)
    deps.metrics.payment_settled(Outcome.REFUNDED.value, "refund")
    return True
