"""Money conservation: captured − refunded equals what confirmed reservations cost."""

from __future__ import annotations

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
