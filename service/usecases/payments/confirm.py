"""Confirming a payment: the member's call after checkout, answered at once if it can be.

The amount check comes first, before any provider call or row is written. The row is
written before the provider call, so that a lost answer is still reconciled; a refusal
removes it again unless the provider shows the payment belongs to this order. An answer
that does not come (a timeout, a 5xx) is checked with a GET, and otherwise the member is
told "pending" (202) while a webhook or the reconciler settles it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from service.domain.errors import NotFound, ProviderUnavailable
from service.domain.payments import (
    Outcome,
    PaymentDeclined,
    PaymentRefunded,
    PaymentRejected,
    ProviderMisbehaved,
    ProviderPayment,
    RefundReason,
    ReservationNotPayable,
    check_amount,
)
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import Refused, Result, Unreachable
from service.usecases.payments.deps import Applied, PaymentDeps, idempotency_key
from service.usecases.payments.settle import settle_observation
from service.usecases.payments.start import ensure_payable

log = logging.getLogger(__name__)

DECLINE_CODES = frozenset({"REJECT_CARD_PAYMENT", "REJECT_ACCOUNT_PAYMENT", "EXCEED_MAX_AMOUNT"})


@dataclass(frozen=True)
class ConfirmResult:
    status: str  # CONFIRMED or PENDING
    payment_key: str
    order_id: str
    amount: int
    reservation_id: int
    reservation_status: str


async def confirm_payment(
    deps: PaymentDeps,
    member_id: int,
    payment_key: str,
    order_id: str,
    client_amount: int,
    correlation: str | None = None,
) -> ConfirmResult:
    """Confirm the member's payment; raise a ``PaymentProblem`` when it cannot pay."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        reservation = await uow.reservations.by_order(order_id, member_id)
        if reservation is None:
            raise NotFound("order", order_id)
        trust = deps.policy.trust_client_amount
        amount = check_amount(client_amount, reservation.amount, trust_client_amount=trust)
        existing = await uow.payments.get(payment_key)
    if existing is not None and existing.order_id != order_id:
        raise PaymentRejected("this paymentKey belongs to another order", toss_code=None)
    if existing is not None and existing.confirmed:
        return _confirmed(reservation, payment_key, amount)
    ensure_payable(reservation, now)
    async with deps.uow() as uow:
        await uow.payments.add(
            payment_key=payment_key,
            reservation=reservation,
            amount=amount,
            now=now,
            next_check_at=deps.policy.recheck_at(now),
        )
        await uow.commit()
    key = idempotency_key("confirm", order_id, payment_key)
    result: Result | None = await deps.gateway.confirm(payment_key, order_id, amount, key)
    if isinstance(result, Refused):
        result = await _after_refusal(deps, payment_key, order_id, result)
    elif isinstance(result, Unreachable):
        result = await _after_no_answer(deps, payment_key, result)
    if result is None:
        deps.metrics.payment_settled("pending", "confirm")
        return _pending(reservation, payment_key, amount)
    assert isinstance(result, ProviderPayment)
    applied = await settle_observation(deps, result, "confirm", correlation)
    return _answer(applied, reservation, payment_key, amount)


async def _after_no_answer(
    deps: PaymentDeps, payment_key: str, unreachable: Unreachable
) -> ProviderPayment | None:
    """No answer to the confirm: a 503 if it surely never arrived, else ask the provider.

    None: the provider cannot tell us either, so the payment may well be captured; the
    answer is "pending" and the row stays unsettled for the reconciler.
    """
    if not unreachable.maybe_processed:
        deps.metrics.payment_settled("provider-unavailable", "confirm")
        log.warning("confirm %s: %s; nothing was sent", payment_key, unreachable.reason)
        raise ProviderUnavailable(
            "the payment provider cannot be reached; nothing was charged", provider="payment"
        )
    log.warning("confirm %s: %s; asking the provider", payment_key, unreachable.reason)
    result = await deps.gateway.get_payment(payment_key)
    return result if isinstance(result, ProviderPayment) else None


async def _after_refusal(
    deps: PaymentDeps, payment_key: str, order_id: str, refused: Refused
) -> ProviderPayment | None:
    """A refused confirm: a decline or a bad session is final; ALREADY_PROCESSED means ask.

    None: ALREADY_PROCESSED but the provider cannot be asked. The payment may well have been
    captured, so the answer is "pending" (the row stays unsettled for the reconciler), never
    a 503 claiming nothing was captured.

    Any other refusal captured nothing under this (paymentKey, orderId). The row stays only
    when the provider shows the payment belongs to this order (a decline leaves it ABORTED
    there); otherwise it is removed, so a key confirmed with the wrong order first is not
    bound to that order for good.
    """
    if refused.http_status == 401:
        raise ProviderMisbehaved(f"the provider refused our key: {refused.code}")
    if refused.code == "ALREADY_PROCESSED_PAYMENT":
        result = await deps.gateway.get_payment(payment_key)
        if isinstance(result, ProviderPayment):
            return result
        log.warning("confirm %s: already processed, and %s; pending", payment_key, result)
        return None
    declined = refused.code in DECLINE_CODES
    outcome = Outcome.DECLINED if declined else Outcome.REJECTED
    observed = await deps.gateway.get_payment(payment_key)
    ours = isinstance(observed, ProviderPayment) and observed.order_id == order_id
    if isinstance(observed, ProviderPayment) and ours:
        await settle_observation(deps, observed, "confirm", None)
    async with deps.uow() as uow:
        if ours:
            await uow.payments.mark_outcome(
                payment_key, outcome, settled=True, failure_code=refused.code
            )
        else:
            await uow.payments.forget(payment_key, order_id)
        await uow.commit()
    deps.metrics.payment_settled(outcome.value, "confirm")
    problem = PaymentDeclined if declined else PaymentRejected
    raise problem(refused.message or refused.code, toss_code=refused.code)


def _confirmed(reservation: Reservation, payment_key: str, amount: int) -> ConfirmResult:
    return ConfirmResult(
        "CONFIRMED",
        payment_key,
        reservation.order_id,
        amount,
        reservation.id,
        ReservationStatus.CONFIRMED.value,
    )


def _pending(reservation: Reservation, payment_key: str, amount: int) -> ConfirmResult:
    return ConfirmResult(
        "PENDING",
        payment_key,
        reservation.order_id,
        amount,
        reservation.id,
        reservation.status.value,
    )


def _answer(
    applied: Applied, reservation: Reservation, payment_key: str, amount: int
) -> ConfirmResult:
    settlement = applied.settlement
    assert settlement is not None
    outcome = settlement.outcome
    if outcome is Outcome.CONFIRMED:
        return _confirmed(reservation, payment_key, amount)
    if outcome is Outcome.PENDING:
        return _pending(reservation, payment_key, amount)
    if outcome in (Outcome.REFUND_PENDING, Outcome.REFUNDED):
        reason = settlement.refund_reason or RefundReason.RESERVATION_EXPIRED
        raise PaymentRefunded(
            reason,
            _REFUND_DETAIL[reason],
            refund="done" if applied.refunded else "pending",
            reservation_id=reservation.id,
            reservation_status=(applied.reservation_status or reservation.status).value,
        )
    if outcome is Outcome.DECLINED:
        code = applied.payment.failure_code if applied.payment else None
        raise PaymentDeclined("the payment was declined", toss_code=code)
    if outcome is Outcome.EXPIRED:
        raise PaymentRejected("the payment session expired; check out again", toss_code=None)
    raise ReservationNotPayable(f"the payment ended {outcome.value}", toss_code=None)


_REFUND_DETAIL = {
    RefundReason.RESERVATION_EXPIRED: (
        "the payment completed after the reservation expired and its seats were released;"
        " the amount has been refunded"
    ),
    RefundReason.RESERVATION_CANCELED: "the reservation was canceled; the payment is refunded",
    RefundReason.ALREADY_PAID: "the reservation was already paid; this payment is refunded",
    RefundReason.AMOUNT_MISMATCH: (
        "the captured amount differs from the reservation's amount; the payment is refunded"
    ),
    RefundReason.SEATS_UNAVAILABLE: (
        "the reservation's seats are no longer all its own; the payment is refunded"
    ),
}
