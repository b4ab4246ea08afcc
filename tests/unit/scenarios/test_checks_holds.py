"""No hold or unpaid reservation outlives its TTL plus grace."""

from __future__ import annotations

from scenarios.checks.holds import no_hold_past_ttl
from scenarios.checks.result import Verdict
from scenarios.checks.snapshot import (
    EXPIRIES,
    DbState,
    HoldRow,
    HoldSeatRow,
    ReservationRow,
    Settlement,
)

GRACE = 5.0
EXPIRES = 1000.0


def hold(
    hid: int,
    status: str = "ACTIVE",
    released_at: float | None = None,
    released_by: str | None = None,
) -> HoldRow:
    return HoldRow(hid, 1, 1, status, 100, 100.0, EXPIRES, released_at, released_by)


def seat_of(hid: int, released_at: float | None = None) -> HoldSeatRow:
    return HoldSeatRow(hid, hid, 10 + hid, 1, 100, released_at)


def reservation(hid: int, status: str, released_at: float | None = None) -> ReservationRow:
    return ReservationRow(
        500 + hid, hid, 1, 1, f"ord_{hid}", 100, status, 150.0, EXPIRES, None, released_at
    )


def db(checked_at: float, holds=(), hold_seats=(), reservations=()) -> DbState:
    return DbState(checked_at, (), tuple(holds), tuple(hold_seats), tuple(reservations))


def test_an_active_hold_within_ttl_plus_grace_passes() -> None:
    state = db(EXPIRES + GRACE - 1, [hold(1)], [seat_of(1)])

    assert no_hold_past_ttl(state, GRACE).verdict is Verdict.PASS


def test_an_active_hold_past_ttl_plus_grace_is_a_counterexample() -> None:
    state = db(EXPIRES + GRACE + 3, [hold(1)])

    result = no_hold_past_ttl(state, GRACE)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0] == {
        "problem": "hold alive past TTL",
        "hold_id": 1,
        "expires_at": EXPIRES,
        "overdue_s": 3.0,
    }


def test_an_unpaid_reservation_past_ttl_plus_grace_is_a_counterexample() -> None:
    state = db(
        EXPIRES + 60,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [],
        [reservation(1, "AWAITING_PAYMENT")],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"] == "unpaid reservation alive past TTL"
    assert result.counterexamples[0]["reservation_id"] == 501


def test_seats_of_a_paid_reservation_stay_claimed_forever() -> None:
    state = db(
        EXPIRES + 3600,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [seat_of(1)],
        [reservation(1, "CONFIRMED")],
    )

    assert no_hold_past_ttl(state, GRACE).verdict is Verdict.PASS


def test_an_expiry_released_late_is_a_counterexample_even_after_quiesce() -> None:
    state = db(
        EXPIRES + 3600,
        [hold(1, "RELEASED", EXPIRES + 30, "sweeper")],
        [seat_of(1, released_at=EXPIRES + 30)],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert result.verdict is Verdict.FAIL
    assert [c["problem"] for c in result.counterexamples] == [
        "hold released late",
        "seat freed late",
    ]
    assert result.metrics["max_overdue_s"] == 25.0


def test_a_hold_released_by_its_member_before_expiry_is_not_late() -> None:
    state = db(
        EXPIRES + 3600, [hold(1, "RELEASED", 200.0, "member")], [seat_of(1, released_at=200.0)]
    )

    assert no_hold_past_ttl(state, GRACE).verdict is Verdict.PASS


def test_a_seat_left_unreleased_after_its_reservation_expired_is_a_counterexample() -> None:
    state = db(
        EXPIRES + 60,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [seat_of(1)],
        [reservation(1, "EXPIRED", released_at=EXPIRES + 1)],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"] == "seat still held past TTL"
    assert result.counterexamples[0]["seat_id"] == 11


def test_with_expiries_not_yet_past_a_clean_state_is_unknown() -> None:
    state = db(EXPIRES - 10, [hold(1)], [seat_of(1)])

    result = no_hold_past_ttl(state, GRACE, Settlement({EXPIRIES: "hold 1 expires in 10 s"}))

    assert result.verdict is Verdict.UNKNOWN
    assert result.unsettled == (EXPIRIES,)


def test_a_hold_past_ttl_fails_even_with_expiries_unsettled() -> None:
    state = db(EXPIRES + 60, [hold(1)])

    result = no_hold_past_ttl(state, GRACE, Settlement({EXPIRIES: "other holds pending"}))

    assert result.verdict is Verdict.FAIL
