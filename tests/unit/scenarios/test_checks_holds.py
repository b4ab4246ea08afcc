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


# ---- every state a hold, reservation and seat can be in, one after another -------------


def test_violations_after_clean_holds_reservations_and_seats_are_all_found() -> None:
    late = EXPIRES + GRACE + 2
    state = db(
        EXPIRES + 3600,
        [
            hold(1, "RELEASED", 200.0, "member"),  # clean, skipped
            hold(2, "CONVERTED", 150.0, "conversion"),  # clean: paid
            hold(3, "RELEASED", late, "consumer"),  # late
            hold(4, "CONVERTED", 150.0, "conversion"),  # its reservation expired late
            hold(5),  # alive past TTL
        ],
        [
            seat_of(1, released_at=200.0),
            seat_of(2),
            seat_of(3, released_at=late),
            seat_of(4, released_at=late),
            seat_of(5),
        ],
        [reservation(2, "CONFIRMED"), reservation(4, "EXPIRED", released_at=late)],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert [(c["problem"], c["hold_id"]) for c in result.counterexamples] == [
        ("hold released late", 3),
        ("hold alive past TTL", 5),
        ("reservation released late", 4),
        ("seat freed late", 3),
        ("seat freed late", 4),
        ("seat still held past TTL", 5),
    ]


def test_a_release_at_exactly_expiry_plus_grace_is_on_time() -> None:
    on_time = EXPIRES + GRACE
    state = db(
        on_time,
        [hold(1, "RELEASED", on_time, "sweeper"), hold(2), hold(3, "CONVERTED", 150.0)],
        [seat_of(1, released_at=on_time), seat_of(2), seat_of(3, released_at=on_time)],
        [reservation(3, "EXPIRED", released_at=on_time)],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert result.verdict is Verdict.PASS
    assert result.metrics == {
        "active_holds": 1,
        "awaiting_reservations": 0,
        "grace_s": GRACE,
        "max_overdue_s": None,
    }


def test_a_release_just_past_expiry_plus_grace_is_late() -> None:
    state = db(EXPIRES + GRACE + 0.001, [hold(1, "RELEASED", EXPIRES + GRACE + 0.001, "consumer")])

    result = no_hold_past_ttl(state, GRACE)

    assert result.counterexamples == (
        {
            "problem": "hold released late",
            "hold_id": 1,
            "expires_at": EXPIRES,
            "released_at": EXPIRES + GRACE + 0.001,
            "released_by": "consumer",
            "overdue_s": 0.001,
        },
    )


def test_an_unpaid_reservation_and_its_seats_at_exactly_expiry_plus_grace_are_on_time() -> None:
    state = db(
        EXPIRES + GRACE,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [seat_of(1)],
        [reservation(1, "AWAITING_PAYMENT")],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert result.verdict is Verdict.PASS
    assert result.metrics["awaiting_reservations"] == 1


def test_an_unpaid_reservation_past_ttl_names_its_reservation_hold_and_delay() -> None:
    state = db(
        EXPIRES + GRACE + 7,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [],
        [reservation(1, "AWAITING_PAYMENT")],
    )

    assert no_hold_past_ttl(state, GRACE).counterexamples == (
        {
            "problem": "unpaid reservation alive past TTL",
            "reservation_id": 501,
            "hold_id": 1,
            "expires_at": EXPIRES,
            "overdue_s": 7.0,
        },
    )


def test_a_reservation_released_late_names_when() -> None:
    late = EXPIRES + GRACE + 0.25
    state = db(
        EXPIRES + 3600,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [],
        [reservation(1, "EXPIRED", released_at=late)],
    )

    assert no_hold_past_ttl(state, GRACE).counterexamples == (
        {
            "problem": "reservation released late",
            "reservation_id": 501,
            "hold_id": 1,
            "expires_at": EXPIRES,
            "released_at": late,
            "overdue_s": 0.25,
        },
    )


def test_a_canceled_reservation_is_not_an_expiry_and_is_never_late() -> None:
    state = db(
        EXPIRES + 3600,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [seat_of(1, released_at=EXPIRES + 3000)],
        [reservation(1, "CANCELED", released_at=EXPIRES + 3000)],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert [c["problem"] for c in result.counterexamples] == ["seat freed late"]


def test_a_seat_follows_its_reservations_expiry_not_its_holds() -> None:
    later = EXPIRES + 500
    state = db(
        later,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [seat_of(1)],
        [ReservationRow(501, 1, 1, 1, "ord_1", 100, "AWAITING_PAYMENT", 150.0, later, None, None)],
    )

    assert no_hold_past_ttl(state, GRACE).verdict is Verdict.PASS


def test_a_seat_of_a_late_reservation_names_the_reservation_and_its_expiry() -> None:
    state = db(
        EXPIRES + 60,
        [hold(1, "CONVERTED", 150.0, "conversion")],
        [seat_of(1)],
        [reservation(1, "EXPIRED", released_at=EXPIRES + 1)],
    )

    assert no_hold_past_ttl(state, GRACE).counterexamples == (
        {
            "problem": "seat still held past TTL",
            "seat_id": 11,
            "hold_id": 1,
            "reservation_id": 501,
            "expires_at": EXPIRES,
            "released_at": None,
            "overdue_s": 55.0,
        },
    )


def test_a_member_released_hold_whose_seats_were_never_freed_is_held_past_ttl() -> None:
    state = db(EXPIRES + 60, [hold(1, "RELEASED", 200.0, "member")], [seat_of(1)])

    result = no_hold_past_ttl(state, GRACE)

    assert [(c["problem"], c["seat_id"]) for c in result.counterexamples] == [
        ("seat still held past TTL", 11)
    ]


def test_a_hold_seat_of_a_missing_hold_is_left_to_the_seat_checks() -> None:
    state = db(EXPIRES + 60, [], [seat_of(1)])

    assert no_hold_past_ttl(state, GRACE).verdict is Verdict.PASS


def test_the_metrics_count_what_is_alive_and_the_worst_delay() -> None:
    state = db(
        EXPIRES + 10,
        [hold(1), hold(2), hold(3, "CONVERTED", 150.0, "conversion")],
        [],
        [reservation(3, "AWAITING_PAYMENT")],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert result.metrics == {
        "active_holds": 2,
        "awaiting_reservations": 1,
        "grace_s": GRACE,
        "max_overdue_s": 5.0,
    }
    assert result.summary == "3 holds or seats alive past TTL + grace"
    assert result.name == "no-hold-past-ttl"


def test_a_delay_is_rounded_to_the_microsecond() -> None:
    state = db(EXPIRES + GRACE + 1.23456789, [hold(1)])

    assert no_hold_past_ttl(state, GRACE).counterexamples[0]["overdue_s"] == 1.234568


def test_half_a_second_past_expiry_plus_grace_is_already_late() -> None:
    now = EXPIRES + GRACE + 0.5
    state = db(
        now,
        [hold(1), hold(2, "CONVERTED", 150.0, "conversion")],
        [seat_of(2)],
        [reservation(2, "AWAITING_PAYMENT")],
    )

    result = no_hold_past_ttl(state, GRACE)

    assert [(c["problem"], c["overdue_s"]) for c in result.counterexamples] == [
        ("hold alive past TTL", 0.5),
        ("unpaid reservation alive past TTL", 0.5),
        ("seat still held past TTL", 0.5),
    ]


def test_a_seat_freed_late_names_when_it_was_freed() -> None:
    freed = EXPIRES + GRACE + 0.5
    state = db(EXPIRES + 3600, [hold(1, "RELEASED", EXPIRES, "consumer")], [seat_of(1, freed)])

    assert no_hold_past_ttl(state, GRACE).counterexamples == (
        {
            "problem": "seat freed late",
            "seat_id": 11,
            "hold_id": 1,
            "reservation_id": None,
            "expires_at": EXPIRES,
            "released_at": freed,
            "overdue_s": 0.5,
        },
    )


def test_seats_a_member_freed_are_never_late_even_after_expiry() -> None:
    late = EXPIRES + GRACE + 100
    state = db(EXPIRES + 3600, [hold(1, "RELEASED", late, "member")], [seat_of(1, late)])

    assert no_hold_past_ttl(state, GRACE).verdict is Verdict.PASS
