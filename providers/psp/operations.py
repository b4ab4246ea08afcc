"""Checkout, confirm and cancel: the provider's decisions, with faults applied to confirm.

Every confirm draws its fault dice in the same order whatever the settings, so a seeded
run replays the same decisions. The payment moves to IN_PROGRESS before the (possibly
slow) approval, so a client that queries during the wait sees what a real provider shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.psp.errors import PspError, invalid
from providers.psp.inputs import CancelRequest, CheckoutRequest, ConfirmRequest
from providers.psp.models import CONFIRMABLE, Payment, Status
from providers.psp.outcomes import Outcome, Reply
from providers.psp.state import PspState

DECLINE_MESSAGE = "Rejected by the card issuer: limit exceeded or balance low (simulated)."


@dataclass(frozen=True)
class CallContext:
    request_id: str | None
    idempotency_key: str | None


@dataclass(frozen=True)
class ConfirmDice:
    latency_s: float
    error_5xx: bool
    decline: bool
    timeout: bool


def checkout(state: PspState, req: CheckoutRequest) -> Payment:
    """The browser widget's part: a payment the customer has authorised, awaiting confirm."""
    previous = state.payments.get(state.orders.get(req.order_id, ""))
    if previous is not None and previous.status not in CONFIRMABLE | {
        Status.ABORTED,
        Status.EXPIRED,
    }:
        raise PspError("DUPLICATED_ORDER_ID")
    payment = Payment.open(
        order_id=req.order_id,
        order_name=req.order_name,
        amount=req.amount,
        m_id=state.config.m_id,
        at=state.now(),
    )
    state.payments[payment.payment_key] = payment
    state.orders[req.order_id] = payment.payment_key
    return payment


def find(state: PspState, payment_key: str) -> Payment:
    payment = state.payments.get(payment_key)
    if payment is None:
        raise PspError("NOT_FOUND_PAYMENT")
    state.expire_if_due(payment)
    return payment


def find_by_order(state: PspState, order_id: str) -> Payment:
    return find(state, state.orders.get(order_id, ""))


def _roll(state: PspState) -> ConfirmDice:
    faults = state.faults
    return ConfirmDice(
        latency_s=faults.confirm_latency.sample_s(state.dice.rng),
        error_5xx=state.dice.hit(faults.error_5xx_rate),
        decline=state.dice.hit(faults.decline_rate),
        timeout=state.dice.hit(faults.timeout_rate),
    )


async def confirm(state: PspState, req: ConfirmRequest, ctx: CallContext) -> Outcome:
    try:
        payment = find(state, req.payment_key)
        _check_confirmable(payment, req)
    except PspError as err:
        return Outcome(Reply.error(err))
    dice = _roll(state)
    faults = state.faults
    payment.confirming = True
    try:
        if payment.status is Status.READY:
            payment.move(Status.IN_PROGRESS, state.now())
            state.emit(payment)
        await state.pause(dice.latency_s)
        if dice.error_5xx and faults.error_5xx_mode == "before":
            failed = PspError("FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING")
            return Outcome(Reply.error(failed), keep=False)
        if dice.decline:
            payment.abort(state.now(), "REJECT_CARD_PAYMENT", DECLINE_MESSAGE)
            state.emit(payment)
            return Outcome(Reply.error(PspError("REJECT_CARD_PAYMENT", DECLINE_MESSAGE)))
        payment.approve(state.now(), ctx.request_id, ctx.idempotency_key)
        state.emit(payment)
        reply = Reply(200, payment.to_toss())
        if dice.error_5xx:  # mode "after": captured, but the caller hears a failure
            return Outcome(reply, wire=Reply.error(PspError("FAILED_INTERNAL_SYSTEM_PROCESSING")))
        if dice.timeout:
            return Outcome(reply, hold=faults.timeout_mode, hold_s=faults.timeout_late_ms / 1000)
        return Outcome(reply)
    finally:
        payment.confirming = False


def _check_confirmable(payment: Payment, req: ConfirmRequest) -> None:
    if payment.order_id != req.order_id:
        raise PspError(
            "NOT_FOUND_PAYMENT_SESSION", "No payment session for this paymentKey and orderId."
        )
    if payment.status is Status.EXPIRED:
        raise PspError("NOT_FOUND_PAYMENT_SESSION", "The payment session has expired.")
    if payment.status not in CONFIRMABLE or payment.confirming:
        raise PspError("ALREADY_PROCESSED_PAYMENT")
    if req.amount != payment.total_amount:
        raise invalid(
            f"The amount {req.amount} does not match the amount requested at checkout "
            f"({payment.total_amount})."
        )


async def cancel(
    state: PspState, payment_key: str, req: CancelRequest, ctx: CallContext
) -> Outcome:
    try:
        payment = find(state, payment_key)
        payment.cancel(
            reason=req.reason,
            amount=req.amount,
            at=state.now(),
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
        )
    except PspError as err:
        return Outcome(Reply.error(err))
    state.emit(payment)
    return Outcome(Reply(200, payment.to_toss()))
