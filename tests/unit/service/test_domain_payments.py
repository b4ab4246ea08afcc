"""The payment state machine and settle rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.payments import (
    Action,
    AmountMismatch,
    Outcome,
    PaymentRecord,
    PaymentStatus,
    ProviderPayment,
    RefundReason,
    ReservationView,
    advance,
    blind_write,
    check_amount,
    settle,
)
from service.domain.reservations import ReservationStatus

S = PaymentStatus
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
AMOUNT = 120_000


def record(status: S = S.READY, **kw: object) -> PaymentRecord:
    values: dict = {
        "payment_key": "pk",
        "order_id": "ord",
        "status": status,
        "amount": AMOUNT,
        "confirmed": False,
        "settled": False,
        "outcome": None,
    }
    values.update(kw)
    return PaymentRecord(**values)


def reservation(
    status: ReservationStatus = ReservationStatus.AWAITING_PAYMENT,
    *,
    expires_in: float = 60,
    paid_by_other: bool = False,
) -> ReservationView:
    return ReservationView(status, AMOUNT, NOW + timedelta(seconds=expires_in), paid_by_other)


def seen(status: S, total: int = AMOUNT, balance: int | None = None) -> ProviderPayment:
    return ProviderPayment("pk", "ord", status, total, total if balance is None else balance)


@pytest.mark.parametrize(
    ("current", "observed", "expected"),
    [
        (S.READY, S.IN_PROGRESS, S.IN_PROGRESS),
        (S.READY, S.DONE, S.DONE),  # a missed intermediate state is still news
        (S.IN_PROGRESS, S.DONE, S.DONE),
        (S.DONE, S.DONE, S.DONE),  # the same news again may finish a half-done settle
        (S.DONE, S.IN_PROGRESS, None),  # a DONE payment never goes back
        (S.DONE, S.READY, None),
        (S.CANCELED, S.DONE, None),
        (S.ABORTED, S.DONE, None),
        (S.DONE, S.CANCELED, S.CANCELED),
        (S.PARTIAL_CANCELED, S.PARTIAL_CANCELED, S.PARTIAL_CANCELED),
        (S.EXPIRED, S.IN_PROGRESS, None),
    ],
)
def test_statuses_only_move_forward(current: S, observed: S, expected: S | None) -> None:
    assert advance(current, observed) == expected


def test_done_confirms_an_unpaid_reservation_in_time() -> None:
    verdict = settle(record(S.IN_PROGRESS), reservation(), seen(S.DONE), NOW)
    assert (verdict.status, verdict.action, verdict.outcome) == (
        S.DONE,
        Action.CONFIRM,
        Outcome.CONFIRMED,
    )
    assert verdict.settled


def test_a_stale_observation_changes_nothing() -> None:
    done = record(S.DONE, confirmed=True, settled=True, outcome=Outcome.CONFIRMED)
    verdict = settle(done, reservation(ReservationStatus.CONFIRMED), seen(S.IN_PROGRESS), NOW)
    assert verdict.stale and verdict.action is Action.NONE
    assert verdict.outcome is Outcome.CONFIRMED


def test_done_again_after_confirming_does_nothing_more() -> None:
    done = record(S.DONE, confirmed=True, settled=True, outcome=Outcome.CONFIRMED)
    verdict = settle(done, reservation(ReservationStatus.CONFIRMED), seen(S.DONE), NOW)
    assert verdict.action is Action.NONE and verdict.outcome is Outcome.CONFIRMED


@pytest.mark.parametrize(
    ("view", "total", "action", "reason"),
    [
        (
            reservation(ReservationStatus.EXPIRED, expires_in=-5),
            AMOUNT,
            Action.REFUND,
            RefundReason.RESERVATION_EXPIRED,
        ),
        (
            reservation(expires_in=-1),
            AMOUNT,
            Action.EXPIRE_AND_REFUND,
            RefundReason.RESERVATION_EXPIRED,
        ),
        (
            reservation(ReservationStatus.CANCELED),
            AMOUNT,
            Action.REFUND,
            RefundReason.RESERVATION_CANCELED,
        ),
        (reservation(paid_by_other=True), AMOUNT, Action.REFUND, RefundReason.ALREADY_PAID),
        (reservation(), 100, Action.REFUND, RefundReason.AMOUNT_MISMATCH),
    ],
    ids=["expired", "past-due-not-yet-expired", "canceled", "paid-by-another", "wrong-amount"],
)
def test_a_capture_that_cannot_pay_is_refunded(
    view: ReservationView, total: int, action: Action, reason: RefundReason
) -> None:
    verdict = settle(record(S.IN_PROGRESS), view, seen(S.DONE, total), NOW)
    assert (verdict.action, verdict.refund_reason) == (action, reason)
    assert verdict.outcome is Outcome.REFUND_PENDING and not verdict.settled


def test_the_seeds_trust_in_the_client_amount_confirms_a_wrong_amount() -> None:
    verdict = settle(
        record(S.IN_PROGRESS), reservation(), seen(S.DONE, 100), NOW, trust_client_amount=True
    )
    assert verdict.action is Action.CONFIRM


def test_pending_and_failed_payments_owe_nothing() -> None:
    assert settle(record(), reservation(), seen(S.IN_PROGRESS), NOW).outcome is Outcome.PENDING
    aborted = settle(record(S.IN_PROGRESS), reservation(), seen(S.ABORTED), NOW)
    assert (aborted.outcome, aborted.settled) == (Outcome.DECLINED, True)
    expired = settle(record(), reservation(), seen(S.EXPIRED), NOW)
    assert expired.outcome is Outcome.EXPIRED


def test_a_refund_owed_is_settled_once_the_provider_shows_it_canceled() -> None:
    owed = record(S.DONE, outcome=Outcome.REFUND_PENDING)
    verdict = settle(owed, reservation(ReservationStatus.EXPIRED), seen(S.CANCELED, balance=0), NOW)
    assert (verdict.outcome, verdict.settled) == (Outcome.REFUNDED, True)


def test_a_refund_owed_is_asked_again_while_the_provider_still_says_done() -> None:
    owed = record(S.DONE, outcome=Outcome.REFUND_PENDING)
    verdict = settle(owed, reservation(ReservationStatus.EXPIRED, expires_in=-9), seen(S.DONE), NOW)
    assert verdict.action is Action.REFUND


def test_the_blind_write_defect_takes_any_status_as_truth() -> None:
    assert blind_write(seen(S.IN_PROGRESS)).status is S.IN_PROGRESS
    assert blind_write(seen(S.DONE)).action is Action.CONFIRM


def test_the_amount_comes_from_the_reservation() -> None:
    assert check_amount(AMOUNT, AMOUNT) == AMOUNT
    with pytest.raises(AmountMismatch):
        check_amount(100, AMOUNT)
    assert check_amount(100, AMOUNT, trust_client_amount=True) == 100


def test_a_toss_payment_object_is_read_strictly() -> None:
    payment = ProviderPayment.from_toss(
        {
            "paymentKey": "pk",
            "orderId": "ord",
            "status": "PARTIAL_CANCELED",
            "totalAmount": 100,
            "balanceAmount": 40,
            "failure": None,
        }
    )
    assert payment.refunded_amount == 60
    for bad in [
        None,
        [],
        {"status": "DONE"},
        {"paymentKey": "k", "orderId": "o", "status": "WAT", "totalAmount": 1},
    ]:
        with pytest.raises(ValueError):
            ProviderPayment.from_toss(bad)
