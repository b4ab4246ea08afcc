"""``settle`` case by case, compared whole: status, action, outcome, settled, reason.

Every branch of the settle rule, every way a payment can end at the provider (canceled
there included), the exact expiry instant, and the errors the payment flow raises.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.payments import (
    CAPTURED,
    FAILED,
    PENDING,
    REACHABLE,
    STEPS,
    Action,
    AmountMismatch,
    Outcome,
    PaymentDeclined,
    PaymentProblem,
    PaymentRecord,
    PaymentRefunded,
    PaymentStatus,
    ProviderPayment,
    RefundReason,
    ReservationView,
    Settlement,
    _closure,
    blind_write,
    check_amount,
    refund_reason,
    settle,
)
from service.domain.reservations import ReservationStatus

S = PaymentStatus
R = ReservationStatus
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
AMOUNT = 120_000


def record(
    status: S = S.IN_PROGRESS,
    *,
    confirmed: bool = False,
    settled: bool = False,
    outcome: Outcome | None = None,
) -> PaymentRecord:
    return PaymentRecord("pk", "ord", status, AMOUNT, confirmed, settled, outcome)


def view(
    status: R = R.AWAITING_PAYMENT, *, expires_in: float = 60, paid_by_other: bool = False
) -> ReservationView:
    return ReservationView(status, AMOUNT, NOW + timedelta(seconds=expires_in), paid_by_other)


def seen(status: S, total: int = AMOUNT, balance: int | None = None) -> ProviderPayment:
    return ProviderPayment("pk", "ord", status, total, total if balance is None else balance)


def test_the_reachable_statuses_are_the_transitive_steps() -> None:
    def walk(start: S) -> set[S]:
        out: set[S] = set()
        frontier = set(STEPS[start])
        while frontier - out:
            out |= frontier
            frontier = {n for s in out for n in STEPS[s]}
        return out

    assert REACHABLE[S.READY] == {
        S.IN_PROGRESS,
        S.DONE,
        S.ABORTED,
        S.EXPIRED,
        S.PARTIAL_CANCELED,
        S.CANCELED,
    }
    assert REACHABLE[S.DONE] == {S.PARTIAL_CANCELED, S.CANCELED}
    assert REACHABLE[S.PARTIAL_CANCELED] == {S.PARTIAL_CANCELED, S.CANCELED}
    assert all(REACHABLE[s] == frozenset() for s in (S.CANCELED, S.ABORTED, S.EXPIRED))
    assert all(REACHABLE[s] == walk(s) for s in S)
    assert all(_closure(s) == walk(s) for s in S)  # REACHABLE is built at import


@pytest.mark.parametrize(
    ("stored", "observed", "expected"),
    [
        (record(S.DONE, settled=True, outcome=Outcome.CONFIRMED), S.IN_PROGRESS, Outcome.CONFIRMED),
        (record(S.DONE, settled=False), S.READY, Outcome.PENDING),
        (record(S.CANCELED, settled=True, outcome=Outcome.REFUNDED), S.DONE, Outcome.REFUNDED),
    ],
)
def test_stale_news_keeps_what_was_stored(
    stored: PaymentRecord, observed: S, expected: Outcome
) -> None:
    assert settle(stored, view(), seen(observed), NOW) == Settlement(
        None, Action.NONE, expected, stored.settled
    )


@pytest.mark.parametrize("observed", sorted(PENDING))
def test_a_pending_payment_is_never_settled(observed: S) -> None:
    assert settle(record(S.READY), view(), seen(observed), NOW) == Settlement(
        observed, Action.NONE, Outcome.PENDING, False
    )


@pytest.mark.parametrize(
    ("observed", "outcome"), [(S.ABORTED, Outcome.DECLINED), (S.EXPIRED, Outcome.EXPIRED)]
)
def test_a_failed_payment_is_settled_with_nothing_owed(observed: S, outcome: Outcome) -> None:
    assert settle(record(), view(), seen(observed), NOW) == Settlement(
        observed, Action.NONE, outcome, True
    )


@pytest.mark.parametrize("observed", [S.CANCELED, S.PARTIAL_CANCELED])
def test_a_payment_canceled_at_the_provider_is_settled_as_canceled_elsewhere(observed: S) -> None:
    assert settle(record(S.DONE), view(), seen(observed, balance=0), NOW) == Settlement(
        observed, Action.NONE, Outcome.CANCELED_ELSEWHERE, True
    )


@pytest.mark.parametrize("owed", [Outcome.REFUND_PENDING, Outcome.REFUNDED])
def test_a_cancel_we_asked_for_settles_as_refunded(owed: Outcome) -> None:
    stored = record(S.DONE, outcome=owed)

    assert settle(stored, view(), seen(S.CANCELED, balance=0), NOW) == Settlement(
        S.CANCELED, Action.NONE, Outcome.REFUNDED, True
    )


def test_done_for_a_payment_that_already_confirmed_owes_nothing_more() -> None:
    stored = record(S.DONE, confirmed=True, outcome=Outcome.CONFIRMED)

    assert settle(stored, view(R.CONFIRMED), seen(S.DONE), NOW) == Settlement(
        S.DONE, Action.NONE, Outcome.CONFIRMED, True
    )


def test_done_in_time_with_the_right_amount_confirms() -> None:
    assert settle(record(), view(), seen(S.DONE), NOW) == Settlement(
        S.DONE, Action.CONFIRM, Outcome.CONFIRMED, True
    )


def test_done_at_the_exact_expiry_instant_expires_the_reservation_and_refunds() -> None:
    assert settle(record(), view(expires_in=0), seen(S.DONE), NOW) == Settlement(
        S.DONE,
        Action.EXPIRE_AND_REFUND,
        Outcome.REFUND_PENDING,
        False,
        RefundReason.RESERVATION_EXPIRED,
    )


def test_done_a_microsecond_before_expiry_still_confirms() -> None:
    assert settle(record(), view(expires_in=1e-6), seen(S.DONE), NOW).action is Action.CONFIRM


def test_done_for_a_reservation_already_expired_only_refunds() -> None:
    assert settle(record(), view(R.EXPIRED), seen(S.DONE), NOW) == Settlement(
        S.DONE, Action.REFUND, Outcome.REFUND_PENDING, False, RefundReason.RESERVATION_EXPIRED
    )


@pytest.mark.parametrize(
    ("reservation", "captured", "reason"),
    [
        (view(R.CONFIRMED), AMOUNT, RefundReason.ALREADY_PAID),
        (view(paid_by_other=True), AMOUNT, RefundReason.ALREADY_PAID),
        (view(R.CANCELED), AMOUNT, RefundReason.RESERVATION_CANCELED),
        (view(R.CANCELED, expires_in=-5), AMOUNT, RefundReason.RESERVATION_CANCELED),
        (view(R.EXPIRED, expires_in=60), AMOUNT, RefundReason.RESERVATION_EXPIRED),
        (view(expires_in=0), AMOUNT, RefundReason.RESERVATION_EXPIRED),
        (view(expires_in=0), AMOUNT + 1, RefundReason.RESERVATION_EXPIRED),
        (view(), AMOUNT + 1, RefundReason.AMOUNT_MISMATCH),
        (view(), AMOUNT - 1, RefundReason.AMOUNT_MISMATCH),
        (view(), AMOUNT, None),
    ],
)
def test_the_refund_reason_follows_the_documented_order(
    reservation: ReservationView, captured: int, reason: RefundReason | None
) -> None:
    assert refund_reason(reservation, captured, NOW, False) is reason


def test_a_wrong_amount_is_accepted_only_when_the_defect_trusts_the_client() -> None:
    assert refund_reason(view(), AMOUNT + 1, NOW, True) is None
    assert settle(record(), view(), seen(S.DONE, total=AMOUNT + 1), NOW) == Settlement(
        S.DONE, Action.REFUND, Outcome.REFUND_PENDING, False, RefundReason.AMOUNT_MISMATCH
    )
    assert settle(
        record(), view(), seen(S.DONE, total=AMOUNT + 1), NOW, trust_client_amount=True
    ) == Settlement(S.DONE, Action.CONFIRM, Outcome.CONFIRMED, True)


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (S.DONE, Settlement(S.DONE, Action.CONFIRM, Outcome.CONFIRMED, True)),
        (S.READY, Settlement(S.READY, Action.NONE, Outcome.PENDING, False)),
        (S.IN_PROGRESS, Settlement(S.IN_PROGRESS, Action.NONE, Outcome.PENDING, False)),
        (S.ABORTED, Settlement(S.ABORTED, Action.NONE, Outcome.PENDING, True)),
        (S.CANCELED, Settlement(S.CANCELED, Action.NONE, Outcome.PENDING, True)),
    ],
)
def test_the_blind_write_defect_stores_whatever_arrived_last(
    observed: S, expected: Settlement
) -> None:
    assert blind_write(seen(observed)) == expected


def test_captured_statuses_report_what_was_refunded() -> None:
    assert seen(S.PARTIAL_CANCELED, balance=AMOUNT - 20_000).refunded_amount == 20_000
    assert seen(S.CANCELED, balance=0).refunded_amount == AMOUNT
    assert seen(S.DONE).refunded_amount == 0
    assert all(seen(s, balance=0).refunded_amount == 0 for s in (*PENDING, *FAILED))
    assert {S.DONE, S.PARTIAL_CANCELED, S.CANCELED} == CAPTURED


def test_a_toss_payment_keeps_its_approval_time_and_failure_code() -> None:
    body = {
        "paymentKey": "pk_1",
        "orderId": "ord_1",
        "status": "ABORTED",
        "totalAmount": 5000,
        "balanceAmount": 0,
        "approvedAt": "2025-01-01T12:00:00+09:00",
        "failure": {"code": "REJECT_CARD_PAYMENT", "message": "declined"},
    }

    assert ProviderPayment.from_toss(body) == ProviderPayment(
        "pk_1", "ord_1", S.ABORTED, 5000, 0, "2025-01-01T12:00:00+09:00", "REJECT_CARD_PAYMENT"
    )


def test_a_toss_payment_without_a_balance_has_its_total_left() -> None:
    body = {"paymentKey": "k", "orderId": "o", "status": "DONE", "totalAmount": 700}

    assert ProviderPayment.from_toss(body) == ProviderPayment("k", "o", S.DONE, 700, 700)


@pytest.mark.parametrize(
    "body",
    [
        {"paymentKey": 1, "orderId": "o", "status": "DONE", "totalAmount": 1},
        {"paymentKey": "k", "orderId": 2, "status": "DONE", "totalAmount": 1},
        {"paymentKey": "k", "orderId": "o", "status": "DONE", "totalAmount": "1"},
        {
            "paymentKey": "k",
            "orderId": "o",
            "status": "DONE",
            "totalAmount": 1,
            "balanceAmount": None,
        },
        {"paymentKey": "k", "orderId": "o", "status": "DONE", "totalAmount": 1, "failure": "x"},
    ],
)
def test_a_toss_payment_with_a_field_of_the_wrong_type_is_refused_or_read_safely(
    body: dict,
) -> None:
    if "failure" in body:
        assert ProviderPayment.from_toss(body).failure_code is None
        return
    with pytest.raises(ValueError, match="must be"):
        ProviderPayment.from_toss(body)


def test_an_amount_mismatch_names_both_amounts() -> None:
    with pytest.raises(AmountMismatch) as caught:
        check_amount(900, 1000)

    assert (caught.value.given, caught.value.expected) == (900, 1000)
    assert caught.value.field_errors == {"amount": "must be 1000"}
    assert str(caught.value) == "the amount 900 does not match the reservation's amount 1000"
    assert check_amount(900, 1000, trust_client_amount=True) == 900
    assert check_amount(1000, 1000) == 1000


def test_payment_problems_keep_their_detail_and_extra_fields() -> None:
    problem = PaymentDeclined("card declined", payment_key="pk")
    refunded = PaymentRefunded(RefundReason.ALREADY_PAID, "paid twice", order_id="ord")

    assert (str(problem), problem.extra, problem.code) == (
        "card declined",
        {"payment_key": "pk"},
        "payment-declined",
    )
    assert isinstance(refunded, PaymentProblem)
    assert (str(refunded), refunded.extra, refunded.reason, refunded.code) == (
        "paid twice",
        {"order_id": "ord"},
        RefundReason.ALREADY_PAID,
        "payment-refunded-already-paid",
    )
