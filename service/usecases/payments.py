"""Paying for a reservation: start, confirm, webhooks and reconciliation, one settle path.

The confirm call, webhooks and the reconciler all learn a payment's state from the provider
and hand it to ``settle_observation``, which applies it in one transaction under the
reservation's lock through the domain's state machine (``domain.payments.settle``): stale
news is ignored, a DONE payment confirms an unpaid, unexpired reservation and sells its
seats, and any other capture is refunded at the provider — after the commit, because a
provider call must never run while rows are locked. That transaction runs at READ
COMMITTED and reads the clock only once it holds the locks, so what it decides on is the
reservation as the previous lock holder (an expiry, another payment) left it. A refund
that fails stays owed (``settled = 0``) and the reconciler tries again, so a capture is
always refunded.

The amount always comes from the reservation. Provider trouble never surfaces as a 500:
a refusal is a 4xx naming Toss's code, a provider that cannot be reached a 503, and a
confirm whose outcome is unknown (timeout, 5xx) is first checked with a GET and otherwise
answered 202 "pending" for the webhook or the reconciler to settle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from service import metrics
from service.adapters import bookings, outbox
from service.adapters import payments_repo as repo
from service.adapters.db import Database
from service.adapters.psp_client import Refused, Result, Unreachable
from service.config import Settings
from service.domain.errors import NotFound, ProviderUnavailable
from service.domain.holds import ReleasedBy
from service.domain.payments import (
    Action,
    Outcome,
    PaymentDeclined,
    PaymentRefunded,
    PaymentRejected,
    PaymentStatus,
    ProviderMisbehaved,
    ProviderPayment,
    RefundReason,
    ReservationExpired,
    ReservationNotPayable,
    Settlement,
    advance,
    blind_write,
    check_amount,
    settle,
)
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import Clock

log = logging.getLogger(__name__)

CHECKOUT_PATH = "/_lab/checkout"
CONFIRM_PATH = "/api/v1/payments/confirm"
DECLINE_CODES = frozenset({"REJECT_CARD_PAYMENT", "REJECT_ACCOUNT_PAYMENT", "EXCEED_MAX_AMOUNT"})


class PaymentGateway(Protocol):
    """The provider, as the use cases need it (``adapters.psp_client.PspClient``)."""

    async def confirm(
        self, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> Result: ...

    async def get_payment(self, payment_key: str) -> Result: ...

    async def cancel(self, payment_key: str, reason: str, idempotency_key: str) -> Result: ...


@dataclass(frozen=True)
class PaymentDeps:
    settings: Settings
    db: Database
    gateway: PaymentGateway
    clock: Clock


@dataclass
class Applied:
    """What one settlement did, for the caller's answer."""

    settlement: Settlement | None  # None: unknown order, or a duplicate webhook
    reservation_id: int | None = None
    reservation_status: ReservationStatus | None = None
    payment: ProviderPayment | None = None
    refunded: bool = False
    duplicate: bool = False
    events: list[str] = field(default_factory=list)


async def record_event(
    cur: Any, event_type: str, aggregate_id: str, payload: dict[str, Any], correlation: str | None
) -> None:
    """The payment events go through the outbox, in the caller's transaction."""
    await outbox.record_event(cur, event_type, aggregate_id, payload, correlation)


def _idempotency_key(kind: str, order_id: str, payment_key: str) -> str:
    """Derived from the order and payment, so every retry of one confirm is the same request."""
    return f"{kind}:{order_id}:{payment_key}"


async def start_payment(deps: PaymentDeps, member_id: int, reservation_id: int) -> dict[str, Any]:
    """Everything a client needs to pay: order id, the server's amount, where to check out."""
    async with deps.db.transaction() as cur:
        reservation = await bookings.get_reservation(cur, reservation_id, member_id)
        if reservation is None:
            raise NotFound("reservation", reservation_id)
        await cur.execute(
            "SELECT COUNT(*) AS n FROM hold_seats WHERE hold_id = %s", (reservation.hold_id,)
        )
        seats = int((await cur.fetchone())["n"])
    _ensure_payable(reservation, deps.clock.now())
    order_name = f"ticketlab reservation {reservation.id} ({seats} seat{'s' * (seats != 1)})"
    checkout_body = {
        "orderId": reservation.order_id,
        "orderName": order_name,
        "amount": reservation.amount,
    }
    return {
        "reservation_id": reservation.id,
        "order_id": reservation.order_id,
        "order_name": order_name,
        "amount": reservation.amount,
        "currency": "KRW",
        "expires_at": reservation.expires_at,
        "checkout": {
            "method": "POST",
            "url": deps.settings.psp_url.rstrip("/") + CHECKOUT_PATH,
            "body": checkout_body,
            "returns": "paymentKey",
        },
        "confirm": {
            "method": "POST",
            "path": CONFIRM_PATH,
            "body": {
                "paymentKey": "<paymentKey from checkout>",
                "orderId": reservation.order_id,
                "amount": reservation.amount,
            },
        },
    }


def _ensure_payable(reservation: Reservation, now: datetime) -> None:
    if reservation.status is ReservationStatus.AWAITING_PAYMENT and now < reservation.expires_at:
        return
    if reservation.status in (ReservationStatus.EXPIRED, ReservationStatus.AWAITING_PAYMENT):
        raise ReservationExpired(
            f"reservation {reservation.id} expired at {reservation.expires_at.isoformat()}",
            reservation_id=reservation.id,
        )
    raise ReservationNotPayable(
        f"reservation {reservation.id} is {reservation.status.value.lower()}",
        reservation_id=reservation.id,
        reservation_status=reservation.status.value,
    )


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
    """Confirm the member's payment; raise a ``PaymentProblem`` when it cannot pay.

    The amount check comes first, before any provider call or row is written. The row is
    written before the provider call, so that a lost answer is still reconciled; a refusal
    removes it again unless the provider shows the payment belongs to this order.
    """
    settings = deps.settings
    now = deps.clock.now()
    async with deps.db.transaction() as cur:
        reservation = await repo.reservation_by_order(cur, order_id, member_id)
        if reservation is None:
            raise NotFound("order", order_id)
        amount = check_amount(
            client_amount,
            reservation.amount,
            trust_client_amount=settings.has_defect("trust-client-amount"),
        )
        existing = await repo.get_payment(cur, payment_key)
    if existing is not None and existing.order_id != order_id:
        raise PaymentRejected("this paymentKey belongs to another order", toss_code=None)
    if existing is not None and existing.confirmed:
        return _confirmed(reservation, payment_key, amount)
    _ensure_payable(reservation, now)
    async with deps.db.transaction() as cur:
        await repo.add_payment(
            cur,
            payment_key=payment_key,
            reservation=reservation,
            amount=amount,
            now=now,
            next_check_at=now + timedelta(seconds=settings.reconciler_grace_s),
        )
    key = _idempotency_key("confirm", order_id, payment_key)
    result: Result | None = await deps.gateway.confirm(payment_key, order_id, amount, key)
    if isinstance(result, Refused):
        result = await _after_refusal(deps, payment_key, order_id, result)
        if result is None:
            _count("pending", "confirm")
            return _pending(reservation, payment_key, amount)
    elif isinstance(result, Unreachable):
        if not result.maybe_processed:
            _count("provider-unavailable", "confirm")
            raise ProviderUnavailable(
                f"the payment provider is unreachable: {result.reason}", provider="payment"
            )
        log.warning("confirm %s: %s; asking the provider", payment_key, result.reason)
        result = await deps.gateway.get_payment(payment_key)
        if not isinstance(result, ProviderPayment):
            _count("pending", "confirm")
            return _pending(reservation, payment_key, amount)
    assert isinstance(result, ProviderPayment)
    applied = await settle_observation(deps, result, "confirm", correlation)
    return _answer(deps, applied, reservation, payment_key, amount)


async def _after_refusal(
    deps: PaymentDeps, payment_key: str, order_id: str, refused: Refused
) -> Result | None:
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
    async with deps.db.transaction() as cur:
        if ours:
            await repo.mark_outcome(
                cur, payment_key, outcome, settled=True, failure_code=refused.code
            )
        else:
            await repo.forget_payment(cur, payment_key, order_id)
    _count(outcome.value, "confirm")
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
    deps: PaymentDeps, applied: Applied, reservation: Reservation, payment_key: str, amount: int
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


def _count(outcome: str, source: str) -> None:
    metrics.payments.labels(outcome=outcome, source=source).inc()


async def settle_observation(
    deps: PaymentDeps,
    observed: ProviderPayment,
    source: str,
    correlation: str | None,
    *,
    event_id: str | None = None,
) -> Applied:
    """Apply what the provider says, in one transaction; refund afterwards if owed.

    With ``event_id`` (a webhook) the event row is locked first and the application is
    counted on it, so two concurrent deliveries of one event apply it once (unless the
    ``webhook-no-dedupe`` defect is on).

    The transaction is READ COMMITTED and ``now`` is read after the locks: an expiry or
    another payment of this order that held the lock while this one waited has committed
    by then, and must be what this settlement sees (at REPEATABLE READ the snapshot would
    date from before the wait, and a reservation expired meanwhile would be confirmed).
    """
    settings = deps.settings
    blind = settings.has_defect("confirm-overwrites")
    trust = settings.has_defect("trust-client-amount")
    applied = Applied(None, payment=observed)
    async with deps.db.transaction(isolation=repo.SETTLE_ISOLATION) as cur:
        no_dedupe = settings.has_defect("webhook-no-dedupe")
        if event_id is not None and await repo.lock_event(cur, event_id) > 0 and not no_dedupe:
            applied.duplicate = True
            return applied
        reservation = await repo.lock_reservation(cur, observed.order_id)
        now = deps.clock.now()
        if reservation is None:
            if event_id is not None:
                await repo.mark_event_applied(cur, event_id, "unknown-order", now)
            return applied
        applied.reservation_id = reservation.id
        await repo.add_payment(
            cur,
            payment_key=observed.payment_key,
            reservation=reservation,
            amount=reservation.amount,
            now=now,
            next_check_at=now + timedelta(seconds=settings.reconciler_grace_s),
        )
        record = await repo.get_payment(cur, observed.payment_key, lock=True)
        assert record is not None
        if record.order_id != observed.order_id and not record.confirmed:
            await repo.rebind_payment(cur, observed.payment_key, reservation)
            record = await repo.get_payment(cur, observed.payment_key, lock=True)
            assert record is not None
        if blind:
            settlement = blind_write(observed)
            await _overwrite(cur, reservation, observed, source, now)
        else:
            other = await repo.paid_by_other(cur, reservation.order_id, observed.payment_key)
            view = repo.reservation_view(reservation, other)
            settlement = settle(record, view, observed, now, trust_client_amount=trust)
            settlement = await _execute(
                cur, settlement, reservation, observed, now, correlation, applied
            )
            retry_at = now + timedelta(seconds=settings.reconciler_grace_s)
            if settlement.action in (Action.REFUND, Action.EXPIRE_AND_REFUND):
                retry_at = now + timedelta(seconds=settings.reconciler_interval_s)
            await repo.store_settlement(
                cur,
                observed.payment_key,
                settlement,
                observed,
                source=source,
                now=now,
                next_check_at=retry_at,
            )
        applied.settlement = settlement
        after = await bookings.get_reservation(cur, reservation.id)
        applied.reservation_status = after.status if after else None
        if event_id is not None:
            await repo.mark_event_applied(cur, event_id, observed.status.value, now)
    if not settlement.stale:
        _count(settlement.outcome.value, source)
    if settlement.action in (Action.REFUND, Action.EXPIRE_AND_REFUND):
        reason = settlement.refund_reason or RefundReason.RESERVATION_EXPIRED
        applied.refunded = await refund(deps, observed, reason, correlation)
    return applied


async def _execute(
    cur: Any,
    settlement: Settlement,
    reservation: Reservation,
    observed: ProviderPayment,
    now: datetime,
    correlation: str | None,
    applied: Applied,
) -> Settlement:
    """Carry out the settlement's action; what was actually done (a refund when the seats
    cannot all be sold)."""
    if settlement.action is Action.CONFIRM:
        if not await repo.confirm_reservation(cur, reservation, now):
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
        await record_event(cur, "reservation.confirmed", str(reservation.id), payload, correlation)
        await record_event(cur, "payment.captured", observed.payment_key, payload, correlation)
        applied.events += ["reservation.confirmed", "payment.captured"]
    elif settlement.action is Action.EXPIRE_AND_REFUND:
        # The expiry consumer is late: expire the reservation here so its seats go back.
        await bookings.release_expired_hold(cur, reservation.hold_id, ReleasedBy.PAYMENT, now)
    return settlement


async def _overwrite(
    cur: Any, reservation: Reservation, observed: ProviderPayment, source: str, now: datetime
) -> None:
    """``confirm-overwrites``: last writer wins, whatever the states say."""
    await repo.overwrite_payment(cur, observed.payment_key, observed, source=source, now=now)
    if observed.status is PaymentStatus.DONE:
        await repo.overwrite_reservation(cur, reservation.id, ReservationStatus.CONFIRMED)
        await repo.confirm_reservation(cur, reservation, now, all_or_nothing=False)
    elif observed.status in (PaymentStatus.READY, PaymentStatus.IN_PROGRESS):
        await repo.overwrite_reservation(cur, reservation.id, ReservationStatus.AWAITING_PAYMENT)


async def refund(
    deps: PaymentDeps, observed: ProviderPayment, reason: RefundReason, correlation: str | None
) -> bool:
    """Cancel the capture at the provider (idempotently) and record it; False if still owed."""
    key = _idempotency_key("refund", observed.order_id, observed.payment_key)
    result = await deps.gateway.cancel(observed.payment_key, f"ticketlab: {reason.value}", key)
    if isinstance(result, Refused) and result.code == "ALREADY_CANCELED_PAYMENT":
        result = await deps.gateway.get_payment(observed.payment_key)
    if not isinstance(result, ProviderPayment):
        log.warning("refund of %s still owed: %s", observed.payment_key, result)
        return False
    now = deps.clock.now()
    async with deps.db.transaction() as cur:
        record = await repo.get_payment(cur, observed.payment_key, lock=True)
        if record is None:
            return False
        if record.outcome is Outcome.REFUNDED:
            return True
        status = advance(record.status, result.status) or record.status
        settlement = Settlement(status, Action.NONE, Outcome.REFUNDED, True, reason)
        await repo.store_settlement(
            cur,
            observed.payment_key,
            settlement,
            result,
            source="refund",
            now=now,
            next_check_at=now,
        )
        await record_event(
            cur,
            "payment.refunded",
            observed.payment_key,
            {
                "order_id": observed.order_id,
                "payment_key": observed.payment_key,
                "amount": result.refunded_amount,
                "reason": reason.value,
            },
            correlation,
        )
    metrics.refunds_after_expiry.labels(reason=reason.value).inc()
    _count(Outcome.REFUNDED.value, "refund")
    return True


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event_type: str
    payment_key: str
    order_id: str
    reported: ProviderPayment | None  # the body's snapshot: never trusted for state


async def receive_webhook(
    deps: PaymentDeps, event: WebhookEvent, correlation: str | None
) -> Applied:
    """Record the event id, skip duplicates, read the payment from the provider, apply it."""
    settings = deps.settings
    async with deps.db.transaction() as cur:
        times_applied = await repo.record_event_received(
            cur,
            event_id=event.event_id,
            event_type=event.event_type,
            payment_key=event.payment_key,
            order_id=event.order_id,
            reported_status=event.reported.status.value if event.reported else None,
            now=deps.clock.now(),
        )
    no_dedupe = settings.has_defect("webhook-no-dedupe")
    if times_applied > 0:
        metrics.webhook_duplicates.labels(applied=str(no_dedupe).lower()).inc()
        if not no_dedupe:
            return Applied(None, duplicate=True)
    if settings.has_defect("confirm-overwrites") and event.reported is not None:
        observed: Result = event.reported  # the seed's bug: the body is taken as the truth
    else:
        observed = await deps.gateway.get_payment(event.payment_key)
    if isinstance(observed, Refused) and observed.http_status == 404:
        # Counted under the event's lock like any other application: two deliveries that
        # both got here (both saw times_applied = 0) must not both count it.
        async with deps.db.transaction() as cur:
            if await repo.lock_event(cur, event.event_id) > 0 and not no_dedupe:
                return Applied(None, duplicate=True)
            await repo.mark_event_applied(cur, event.event_id, "unknown-payment", deps.clock.now())
        return Applied(None)
    if not isinstance(observed, ProviderPayment):
        raise ProviderUnavailable(
            f"cannot read the payment from the provider: {observed}", provider="payment"
        )
    return await settle_observation(deps, observed, "webhook", correlation, event_id=event.event_id)


async def claim_unsettled(deps: PaymentDeps, limit: int, lease_s: float) -> list[str]:
    """Up to ``limit`` unsettled payments due for a check, leased to this caller; their keys."""
    now = deps.clock.now()
    async with deps.db.transaction(isolation="READ COMMITTED") as cur:
        rows = await repo.claim_unsettled(cur, now, limit, lease_s)
    return [row["payment_key"] for row in rows]


async def reconcile_payment(
    deps: PaymentDeps, payment_key: str, correlation: str | None
) -> Applied | None:
    """Ask the provider about one unsettled payment and apply the answer."""
    observed = await deps.gateway.get_payment(payment_key)
    if isinstance(observed, Refused) and observed.http_status == 404:
        async with deps.db.transaction() as cur:
            await repo.mark_outcome(
                cur, payment_key, Outcome.REJECTED, settled=True, failure_code=observed.code
            )
        metrics.reconciler_checks.labels(result="unknown-payment").inc()
        return None
    if not isinstance(observed, ProviderPayment):
        metrics.reconciler_checks.labels(result="unreachable").inc()
        return None
    applied = await settle_observation(deps, observed, "reconciler", correlation)
    result = applied.settlement.outcome.value if applied.settlement else "unknown-order"
    metrics.reconciler_checks.labels(result=result).inc()
    return applied


__all__ = [
    "Applied",
    "ConfirmResult",
    "PaymentDeps",
    "PaymentGateway",
    "WebhookEvent",
    "claim_unsettled",
    "confirm_payment",
    "receive_webhook",
    "reconcile_payment",
    "refund",
    "settle_observation",
    "start_payment",
]
