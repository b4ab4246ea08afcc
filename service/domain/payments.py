"""Payments, pure: the provider's payment states, the rule that stale news never wins, and
what the service must do when it learns a payment's state.

The service hears about one payment from three places that race — the confirm call's
answer, webhooks (duplicated, reordered) and the reconciler's queries — so every one of
them goes through ``settle``: a status only moves forward along the provider's state
machine (a DONE payment never goes back to IN_PROGRESS), and the action owed (confirm the
reservation, refund the capture, nothing) depends only on the payment and the reservation
as they are now, under lock. Whichever source arrives first, the end state is the same.

The amount always comes from the reservation: a capture of any other amount is refunded,
never accepted (unless the ``trust-client-amount`` defect asks for the seed's behaviour).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.errors import DomainError, InvalidRequest
from service.domain.reservations import ReservationStatus


class PaymentStatus(enum.StrEnum):
    READY = "READY"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    PARTIAL_CANCELED = "PARTIAL_CANCELED"
    CANCELED = "CANCELED"
    ABORTED = "ABORTED"
    EXPIRED = "EXPIRED"


# The provider's one-step transitions (Toss: READY → IN_PROGRESS → DONE → (PARTIAL_)CANCELED).
STEPS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.READY: frozenset(
        {PaymentStatus.IN_PROGRESS, PaymentStatus.ABORTED, PaymentStatus.EXPIRED}
    ),
    PaymentStatus.IN_PROGRESS: frozenset(
        {PaymentStatus.DONE, PaymentStatus.ABORTED, PaymentStatus.EXPIRED}
    ),
    PaymentStatus.DONE: frozenset({PaymentStatus.PARTIAL_CANCELED, PaymentStatus.CANCELED}),
    PaymentStatus.PARTIAL_CANCELED: frozenset(
        {PaymentStatus.PARTIAL_CANCELED, PaymentStatus.CANCELED}
    ),
    PaymentStatus.CANCELED: frozenset(),
    PaymentStatus.ABORTED: frozenset(),
    PaymentStatus.EXPIRED: frozenset(),
}


def _closure(start: PaymentStatus) -> frozenset[PaymentStatus]:
    seen: set[PaymentStatus] = set()
    todo = list(STEPS[start])
    while todo:
        status = todo.pop()
        if status not in seen:
            seen.add(status)
            todo.extend(STEPS[status])
    return frozenset(seen)


# Observations are snapshots, so intermediate states may be missed: READY → DONE is news.
REACHABLE: dict[PaymentStatus, frozenset[PaymentStatus]] = {s: _closure(s) for s in PaymentStatus}
PENDING = frozenset({PaymentStatus.READY, PaymentStatus.IN_PROGRESS})
FAILED = frozenset({PaymentStatus.ABORTED, PaymentStatus.EXPIRED})
CAPTURED = frozenset({PaymentStatus.DONE, PaymentStatus.PARTIAL_CANCELED, PaymentStatus.CANCELED})


def advance(current: PaymentStatus, observed: PaymentStatus) -> PaymentStatus | None:
    """The new status, or None when ``observed`` is stale (or impossible) news.

    The same status again is not stale: a repeated DONE must still be able to finish a
    confirm (or a refund) that an earlier attempt left half done.
    """
    if observed == current or observed in REACHABLE[current]:
        return observed
    return None


class Action(enum.StrEnum):
    NONE = "none"  # nothing owed now (pending, stale, failed, or already settled)
    CONFIRM = "confirm"  # confirm the reservation and sell its seats
    REFUND = "refund"  # cancel the capture at the provider
    EXPIRE_AND_REFUND = "expire-and-refund"  # the reservation is past due: expire it, refund


class RefundReason(enum.StrEnum):
    RESERVATION_EXPIRED = "reservation-expired"
    RESERVATION_CANCELED = "reservation-canceled"
    ALREADY_PAID = "already-paid"  # another payment confirmed this reservation
    AMOUNT_MISMATCH = "amount-mismatch"
    SEATS_UNAVAILABLE = "seats-unavailable"  # the hold no longer owns all its seats


class Outcome(enum.StrEnum):
    """What a payment came to, as stored in ``payments.outcome`` and counted in metrics."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUND_PENDING = "refund-pending"
    REFUNDED = "refunded"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELED_ELSEWHERE = "canceled-elsewhere"
    REJECTED = "rejected"  # the provider refused the confirm (unknown payment, bad session)


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's payment as read from its answer (a Toss Payment object)."""

    payment_key: str
    order_id: str
    status: PaymentStatus
    total_amount: int
    balance_amount: int
    approved_at: str | None = None
    failure_code: str | None = None

    @property
    def refunded_amount(self) -> int:
        return self.total_amount - self.balance_amount if self.status in CAPTURED else 0

    @classmethod
    def from_toss(cls, body: Any) -> ProviderPayment:
        """Raises ValueError when the body is not a usable Payment object."""
        if not isinstance(body, dict):
            raise ValueError("the payment is not a JSON object")
        try:
            status = PaymentStatus(body["status"])
            key, order = body["paymentKey"], body["orderId"]
            total, balance = body["totalAmount"], body.get("balanceAmount", body["totalAmount"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"not a Toss payment: {exc!r}") from None
        if not (isinstance(key, str) and isinstance(order, str)):
            raise ValueError("paymentKey and orderId must be strings")
        if not (isinstance(total, int) and isinstance(balance, int)):
            raise ValueError("totalAmount and balanceAmount must be integers")
        failure = body.get("failure")
        code = failure.get("code") if isinstance(failure, dict) else None
        approved = body.get("approvedAt")
        return cls(key, order, status, total, balance, approved, code)


@dataclass(frozen=True)
class PaymentRecord:
    """The service's row for one payment, as locked inside the settling transaction."""

    payment_key: str
    order_id: str
    status: PaymentStatus
    amount: int  # what the service expects to be captured
    confirmed: bool  # this payment confirmed the reservation
    settled: bool
    outcome: Outcome | None = None


@dataclass(frozen=True)
class ReservationView:
    status: ReservationStatus
    amount: int
    expires_at: datetime
    paid_by_other: bool  # CONFIRMED by a different payment


@dataclass(frozen=True)
class Settlement:
    """``settle``'s verdict: the status to store (None: stale, keep ours) and the action."""

    status: PaymentStatus | None
    action: Action
    outcome: Outcome
    settled: bool
    refund_reason: RefundReason | None = None

    @property
    def stale(self) -> bool:
        return self.status is None


def settle(
    record: PaymentRecord,
    reservation: ReservationView,
    observed: ProviderPayment,
    now: datetime,
    *,
    trust_client_amount: bool = False,
) -> Settlement:
    """What to store and do, given what the provider says about the payment now."""
    status = advance(record.status, observed.status)
    if status is None:
        return Settlement(None, Action.NONE, record.outcome or Outcome.PENDING, record.settled)
    if status in PENDING:
        return Settlement(status, Action.NONE, Outcome.PENDING, False)
    if status in FAILED:
        outcome = Outcome.DECLINED if status is PaymentStatus.ABORTED else Outcome.EXPIRED
        return Settlement(status, Action.NONE, outcome, True)
    if status is not PaymentStatus.DONE:  # (partially) canceled at the provider
        if record.outcome in (Outcome.REFUND_PENDING, Outcome.REFUNDED):
            return Settlement(status, Action.NONE, Outcome.REFUNDED, True)
        return Settlement(status, Action.NONE, Outcome.CANCELED_ELSEWHERE, True)
    if record.confirmed:
        return Settlement(status, Action.NONE, Outcome.CONFIRMED, True)
    reason = refund_reason(reservation, observed.total_amount, now, trust_client_amount)
    if reason is None:
        return Settlement(status, Action.CONFIRM, Outcome.CONFIRMED, True)
    action = Action.REFUND
    if (
        reason is RefundReason.RESERVATION_EXPIRED
        and reservation.status is ReservationStatus.AWAITING_PAYMENT
    ):
        action = Action.EXPIRE_AND_REFUND
    return Settlement(status, action, Outcome.REFUND_PENDING, False, reason)


def refund_reason(
    reservation: ReservationView, captured: int, now: datetime, trust_client_amount: bool
) -> RefundReason | None:
    """Why a capture cannot pay for the reservation, or None when it confirms it."""
    if reservation.status is ReservationStatus.CONFIRMED or reservation.paid_by_other:
        return RefundReason.ALREADY_PAID
    if reservation.status is ReservationStatus.CANCELED:
        return RefundReason.RESERVATION_CANCELED
    if reservation.status is ReservationStatus.EXPIRED or now >= reservation.expires_at:
        return RefundReason.RESERVATION_EXPIRED
    if captured != reservation.amount and not trust_client_amount:
        return RefundReason.AMOUNT_MISMATCH
    return None


def blind_write(observed: ProviderPayment) -> Settlement:
    """The ``confirm-overwrites`` defect: whatever arrived last is the truth, no questions.

    DONE confirms the reservation whatever its state; anything pending puts it back to
    awaiting payment. This is the seed's bug: an older webhook overwrote the confirm.
    """
    action = Action.CONFIRM if observed.status is PaymentStatus.DONE else Action.NONE
    outcome = Outcome.CONFIRMED if action is Action.CONFIRM else Outcome.PENDING
    return Settlement(observed.status, action, outcome, observed.status not in PENDING)


class AmountMismatch(InvalidRequest):
    """The client's amount differs from the reservation's: refused before any provider call."""

    code = "payment-amount-mismatch"

    def __init__(self, given: int, expected: int) -> None:
        super().__init__(
            f"the amount {given} does not match the reservation's amount {expected}",
            {"amount": f"must be {expected}"},
        )
        self.given = given
        self.expected = expected


def check_amount(given: int, expected: int, *, trust_client_amount: bool = False) -> int:
    """The amount to confirm: always the reservation's, unless the defect trusts the client."""
    if trust_client_amount:
        return given
    if given != expected:
        raise AmountMismatch(given, expected)
    return expected


class InvalidWebhookSignature(DomainError):
    """A webhook delivery that is not the provider's (or is too old): nothing is stored."""

    code = "invalid-webhook-signature"


class PaymentProblem(DomainError):
    """A payment the service cannot complete; ``extra`` goes into the answer as it is."""

    code = "payment-failed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.extra = extra


class PaymentDeclined(PaymentProblem):
    code = "payment-declined"


class PaymentRejected(PaymentProblem):
    """The provider refused the request (unknown payment, expired session …)."""

    code = "payment-rejected"


class ProviderMisbehaved(PaymentProblem):
    """The provider answered something unusable (or refused our key): not the client's fault."""

    code = "payment-provider-error"


class PaymentRefunded(PaymentProblem):
    """Captured, but it could not pay for the reservation, so it was (or is being) refunded."""

    def __init__(self, reason: RefundReason, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.reason = reason
        self.code = f"payment-refunded-{reason.value}"


class ReservationNotPayable(PaymentProblem):
    code = "reservation-not-payable"


class ReservationExpired(ReservationNotPayable):
    code = "reservation-expired"
