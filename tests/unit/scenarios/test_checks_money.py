"""Money conservation: captured − refunded equals what confirmed reservations cost."""

from __future__ import annotations

import pytest

from scenarios.checks.catalog import check_money_conserved
from scenarios.checks.money import money_conservation
from scenarios.checks.result import Verdict
from scenarios.checks.run import run_check
from scenarios.checks.snapshot import (
    PAYMENTS,
    WEBHOOKS,
    DbState,
    Evidence,
    Ledger,
    LedgerPayment,
    ReservationRow,
    Settlement,
)


def reservation(rid: int, status: str = "CONFIRMED", amount: int = 300) -> ReservationRow:
    return ReservationRow(rid, rid, 1, 1, f"ord_{rid}", amount, status, 10.0, 910.0)


def payment(
    key: str, order: int, captured: int = 300, refunded: int = 0, status: str = "DONE"
) -> LedgerPayment:
    return LedgerPayment(key, f"ord_{order}", status, captured, captured, refunded)


def test_each_confirmed_reservation_with_its_one_capture_conserves_money() -> None:
    result = money_conservation(
        [reservation(1), reservation(2, amount=500), reservation(3, "EXPIRED")],
        Ledger((payment("p1", 1), payment("p2", 2, captured=500))),
    )

    assert result.verdict is Verdict.PASS
    assert result.metrics["net"] == 800
    assert result.metrics["confirmed_amount"] == 800


def test_a_late_payment_fully_refunded_for_an_expired_reservation_is_conserved() -> None:
    result = money_conservation(
        [reservation(1, "EXPIRED")],
        Ledger((payment("p1", 1, refunded=300, status="CANCELED"),)),
    )

    assert result.verdict is Verdict.PASS


def test_a_capture_for_an_expired_reservation_without_refund_is_a_counterexample() -> None:
    result = money_conservation([reservation(1, "EXPIRED")], Ledger((payment("p1", 1),)))

    assert result.verdict is Verdict.FAIL
    problems = {c["problem"]: c for c in result.counterexamples}
    example = problems["captured for a EXPIRED reservation, not refunded"]
    assert (example["payment_key"], example["reservation_id"]) == ("p1", 1)
    assert "captured − refunded differs from confirmed reservations' amounts" in problems


def test_a_confirmed_reservation_without_a_capture_is_a_counterexample() -> None:
    result = money_conservation([reservation(1)], Ledger())

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"] == "confirmed without a captured payment"
    assert result.counterexamples[0]["reservation_id"] == 1


def test_two_unrefunded_captures_for_one_reservation_are_counterexamples() -> None:
    result = money_conservation([reservation(1)], Ledger((payment("p1", 1), payment("p2", 1))))

    assert result.verdict is Verdict.FAIL
    keys = [
        c.get("payment_key")
        for c in result.counterexamples
        if c["problem"] == "one of several unrefunded captures for one reservation"
    ]
    assert keys == ["p1", "p2"]


def test_a_second_capture_refunded_in_full_leaves_one_per_reservation() -> None:
    result = money_conservation(
        [reservation(1)],
        Ledger((payment("p1", 1), payment("p2", 1, refunded=300, status="CANCELED"))),
    )

    assert result.verdict is Verdict.PASS


def test_a_capture_of_the_clients_amount_is_a_counterexample() -> None:
    result = money_conservation(
        [reservation(1, amount=300)], Ledger((payment("p1", 1, captured=100),))
    )

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"] == (
        "captured amount differs from the reservation's amount"
    )
    assert (result.counterexamples[0]["captured"], result.counterexamples[0]["amount"]) == (
        100,
        300,
    )


def test_a_partial_refund_is_a_counterexample() -> None:
    result = money_conservation(
        [reservation(1, "EXPIRED")], Ledger((payment("p1", 1, refunded=100),))
    )

    assert result.counterexamples[0]["problem"] == "partially refunded"


def test_a_capture_with_no_reservation_is_a_counterexample() -> None:
    result = money_conservation([], Ledger((payment("p1", 9),)))

    assert result.counterexamples[0]["problem"] == "captured with no reservation, not refunded"


def test_checkouts_never_confirmed_move_no_money() -> None:
    result = money_conservation(
        [reservation(1, "AWAITING_PAYMENT")],
        Ledger((payment("p1", 1, captured=0, status="READY"),)),
    )

    assert result.verdict is Verdict.PASS


def test_a_payment_in_flight_makes_a_discrepancy_unknown_not_fail() -> None:
    result = money_conservation(
        [reservation(1, "AWAITING_PAYMENT")],
        Ledger((payment("p1", 1, captured=300, status="IN_PROGRESS"),)),
    )

    assert result.verdict is Verdict.UNKNOWN
    assert result.unsettled == (PAYMENTS,)
    assert result.counterexample_count > 0


def test_unsettled_webhooks_make_even_a_balanced_ledger_unknown() -> None:
    result = money_conservation(
        [reservation(1)],
        Ledger((payment("p1", 1),)),
        Settlement({WEBHOOKS: "3 deliveries still retrying"}),
    )

    assert result.verdict is Verdict.UNKNOWN
    assert "3 deliveries still retrying" in result.summary


def test_without_a_ledger_money_is_unknown() -> None:
    evidence = Evidence(db=DbState(checked_at=0.0))

    result = run_check(check_money_conserved(), evidence)

    assert result.verdict is Verdict.UNKNOWN
    assert "provider ledger" in result.summary


# ---- boundaries, every problem on its own, unsettled of every kind ---------------------


@pytest.mark.parametrize(
    ("captured", "refunded", "problem"),
    [
        (0, 0, None),
        (0, 1, "refunded a payment never captured"),
        (300, 300, None),
        (300, 301, "refunded more than captured"),
        (300, 1, "partially refunded"),
        (300, 299, "partially refunded"),
    ],
)
def test_each_refund_of_a_payment_is_judged_on_its_own(
    captured: int, refunded: int, problem: str | None
) -> None:
    result = money_conservation(
        [reservation(1, "EXPIRED")],
        Ledger((payment("p1", 1, captured=captured, refunded=refunded, status="CANCELED"),)),
    )

    assert [c["problem"] for c in result.counterexamples][:1] == ([problem] if problem else [])


def test_a_refund_of_a_never_captured_payment_is_reported_with_its_payment() -> None:
    result = money_conservation([], Ledger((payment("p9", 9, captured=0, refunded=1),)))

    assert result.counterexamples[0] == {
        "problem": "refunded a payment never captured",
        "payment_key": "p9",
        "order_id": "ord_9",
        "payment_status": "DONE",
        "captured": 0,
        "refunded": 1,
        "reservation_id": None,
        "reservation_status": None,
        "amount": None,
    }


def test_a_capture_of_one_pays_a_reservation_of_one() -> None:
    result = money_conservation([reservation(1, amount=1)], Ledger((payment("p1", 1, captured=1),)))

    assert result.verdict is Verdict.PASS


def test_a_second_capture_of_one_for_a_paid_reservation_is_found() -> None:
    result = money_conservation(
        [reservation(1, amount=1)],
        Ledger((payment("p1", 1, captured=1), payment("p2", 1, captured=1))),
    )

    assert [c["problem"] for c in result.counterexamples] == [
        "one of several unrefunded captures for one reservation",
        "one of several unrefunded captures for one reservation",
        "captured − refunded differs from confirmed reservations' amounts",
    ]


def test_a_confirmed_reservation_whose_capture_was_refunded_is_unpaid() -> None:
    result = money_conservation(
        [reservation(1)], Ledger((payment("p1", 1, refunded=300, status="CANCELED"),))
    )

    assert result.counterexamples == (
        {
            "problem": "confirmed without a captured payment",
            "reservation_id": 1,
            "order_id": "ord_1",
            "amount": 300,
        },
        {
            "problem": "captured − refunded differs from confirmed reservations' amounts",
            "captured": 300,
            "refunded": 300,
            "net": 0,
            "confirmed_amount": 300,
        },
    )


def test_money_metrics_add_up_what_the_provider_and_the_service_hold() -> None:
    result = money_conservation(
        [reservation(1), reservation(2, "EXPIRED")],
        Ledger(
            (
                payment("p1", 1),
                payment("p2", 2, refunded=300, status="CANCELED"),
                payment("p3", 3, captured=0, status="IN_PROGRESS"),
            )
        ),
        Settlement({PAYMENTS: "waiting for p3"}),
    )

    assert result.metrics == {
        "captured": 600,
        "refunded": 300,
        "net": 300,
        "confirmed_amount": 300,
        "confirmed_reservations": 1,
        "payments": 3,
        "refunded_payments": 1,
        "in_flight_payments": 1,
    }
    assert result.unsettled == (PAYMENTS,)
    assert result.summary == "not settled (payments: waiting for p3)"


@pytest.mark.parametrize("name", [PAYMENTS, WEBHOOKS])
def test_a_discrepancy_while_payments_or_webhooks_are_unsettled_is_only_possible(
    name: str,
) -> None:
    result = money_conservation(
        [reservation(1)], Ledger(()), Settlement({name: "busy", "outbox": "other"})
    )

    assert (result.name, result.verdict, result.unsettled) == (
        "money-conserved",
        Verdict.UNKNOWN,
        (name,),
    )
    assert result.summary == f"2 possible money discrepancies, not settled ({name}: busy)"
    assert result.counterexample_count == 2


def test_in_flight_payments_and_retrying_webhooks_say_how_many() -> None:
    ledger = Ledger(
        (payment("p1", 1, captured=0, status="IN_PROGRESS"),),
        pending_deliveries=2,
    )

    result = money_conservation([], ledger)

    assert result.summary == (
        "not settled (payments: 1 payments in flight at the provider; "
        "webhooks: 2 webhook chains retrying)"
    )
    assert result.metrics["in_flight_payments"] == 1


def test_a_reported_reason_is_kept_over_the_ledgers_own() -> None:
    ledger = Ledger((payment("p1", 1, captured=0, status="IN_PROGRESS"),), pending_deliveries=1)

    result = money_conservation(
        [], ledger, Settlement({PAYMENTS: "quiesce gave up", WEBHOOKS: "retrying"})
    )

    assert result.summary == "not settled (payments: quiesce gave up; webhooks: retrying)"


def test_a_definite_discrepancy_fails_with_its_name_and_count() -> None:
    result = money_conservation([], Ledger((payment("p1", 1),)))

    assert (result.name, result.verdict, result.summary) == (
        "money-conserved",
        Verdict.FAIL,
        "2 money discrepancies",
    )


def test_a_capture_for_an_ended_reservation_names_the_reservation() -> None:
    result = money_conservation(
        [reservation(1, "EXPIRED", amount=300)], Ledger((payment("p1", 1),))
    )

    assert result.counterexamples[0] == {
        "problem": "captured for a EXPIRED reservation, not refunded",
        "payment_key": "p1",
        "order_id": "ord_1",
        "payment_status": "DONE",
        "captured": 300,
        "refunded": 0,
        "reservation_id": 1,
        "reservation_status": "EXPIRED",
        "amount": 300,
    }
