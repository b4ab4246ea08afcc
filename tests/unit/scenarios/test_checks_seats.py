"""No seat held or sold twice; seat counts that add up."""

from __future__ import annotations

import json

import pytest

from scenarios.checks.catalog import check_no_double_booking, check_seat_counts
from scenarios.checks.result import CheckResult, Verdict
from scenarios.checks.run import run_check
from scenarios.checks.seats import no_double_booking, seat_counts_conserved
from scenarios.checks.snapshot import (
    DbState,
    Evidence,
    HoldRow,
    HoldSeatRow,
    ReservationRow,
    SeatRow,
)

NOW = 10_000.0


class World:
    """A tiny booking database, built one hold at a time."""

    def __init__(self, seats: int = 4) -> None:
        self.seats = {i: SeatRow(i, 1, "AVAILABLE") for i in range(1, seats + 1)}
        self.holds: list[HoldRow] = []
        self.hold_seats: list[HoldSeatRow] = []
        self.reservations: list[ReservationRow] = []

    def seat(self, seat_id: int, status: str, hold_id: int | None) -> World:
        self.seats[seat_id] = SeatRow(seat_id, 1, status, hold_id)
        return self

    def hold(
        self,
        hold_id: int,
        seat_ids: list[int],
        *,
        created: float = 100.0,
        status: str = "ACTIVE",
        released_at: float | None = None,
        released_by: str | None = None,
        seats_released_at: float | None = None,
        set_seats: bool = True,
        claimed: float | None = None,
    ) -> World:
        self.holds.append(
            HoldRow(
                hold_id,
                1,
                hold_id,
                status,
                100 * len(seat_ids),
                created,
                created + 900,
                released_at,
                released_by,
                claimed,
            )
        )
        for seat_id in seat_ids:
            self.hold_seats.append(
                HoldSeatRow(len(self.hold_seats) + 1, hold_id, seat_id, 1, 100, seats_released_at)
            )
            if set_seats and status == "ACTIVE":
                self.seat(seat_id, "HELD", hold_id)
        return self

    def reservation(
        self, hold_id: int, status: str, *, set_seats: bool = True, released_at: float | None = None
    ) -> World:
        hold = next(h for h in self.holds if h.id == hold_id)
        self.holds = [
            HoldRow(
                h.id,
                h.concert_id,
                h.member_id,
                "CONVERTED",
                h.amount,
                h.created_at,
                h.expires_at,
                h.created_at + 1,
                "conversion",
            )
            if h.id == hold_id
            else h
            for h in self.holds
        ]
        self.reservations.append(
            ReservationRow(
                500 + hold_id,
                hold_id,
                hold.member_id,
                1,
                f"ord_{hold_id}",
                hold.amount,
                status,
                hold.created_at + 1,
                hold.expires_at,
                hold.created_at + 2 if status == "CONFIRMED" else None,
                released_at,
            )
        )
        seat_status = {"AWAITING_PAYMENT": "RESERVED", "CONFIRMED": "SOLD"}.get(status)
        if set_seats and seat_status:
            for hs in self.hold_seats:
                if hs.hold_id == hold_id:
                    self.seat(hs.seat_id, seat_status, hold_id)
        return self

    def db(self) -> DbState:
        return DbState(
            checked_at=NOW,
            seats=tuple(self.seats.values()),
            holds=tuple(self.holds),
            hold_seats=tuple(self.hold_seats),
            reservations=tuple(self.reservations),
        )


# ---- no seat held or sold twice --------------------------------------------------------


def test_one_hold_per_seat_passes() -> None:
    db = World().hold(1, [1, 2]).hold(2, [3]).db()

    assert no_double_booking(db).verdict is Verdict.PASS


def test_a_seat_in_two_live_holds_is_a_counterexample() -> None:
    db = World().hold(1, [1, 2], created=100).hold(2, [2, 3], created=101).db()

    result = no_double_booking(db)

    assert result.verdict is Verdict.FAIL
    [example] = result.counterexamples
    assert example["seat_id"] == 2
    assert example["problem"] == "held twice"
    assert example["holds"] == [1, 2]
    assert result.metrics["seats_held_twice"] == 1
    assert result.metrics["seats_sold_twice"] == 0


def test_two_holds_that_both_expired_before_the_check_still_count_as_a_double_hold() -> None:
    db = (
        World()
        .hold(
            1,
            [1],
            created=100,
            status="RELEASED",
            released_at=1000,
            released_by="consumer",
            seats_released_at=1000,
        )
        .hold(
            2,
            [1],
            created=200,
            status="RELEASED",
            released_at=1100,
            released_by="consumer",
            seats_released_at=1100,
        )
        .db()
    )

    result = no_double_booking(db)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["holds"] == [1, 2]


def test_a_seat_held_again_after_its_first_hold_was_released_is_fine() -> None:
    db = (
        World()
        .hold(
            1,
            [1],
            created=100,
            status="RELEASED",
            released_at=200,
            released_by="member",
            seats_released_at=200,
        )
        .hold(2, [1], created=300)
        .db()
    )

    assert no_double_booking(db).verdict is Verdict.PASS


def test_an_overlap_within_the_slack_is_clock_noise_not_a_double_booking() -> None:
    db = (
        World()
        .hold(
            1,
            [1],
            created=100,
            status="RELEASED",
            released_at=202,
            released_by="sweeper",
            seats_released_at=202,
        )
        .hold(2, [1], created=200)
        .db()
    )

    assert no_double_booking(db, slack_s=5).verdict is Verdict.PASS
    assert no_double_booking(db, slack_s=1).verdict is Verdict.FAIL


def test_a_short_double_hold_is_caught_when_both_holds_know_when_they_claimed() -> None:
    db = (
        World()
        .hold(
            1,
            [1],
            created=100,
            claimed=100.01,
            status="RELEASED",
            released_at=103,
            released_by="consumer",
            seats_released_at=103,
        )
        .hold(
            2,
            [1],
            created=100,
            claimed=100.02,
            status="RELEASED",
            released_at=103,
            released_by="consumer",
            seats_released_at=103,
        )
        .db()
    )

    assert no_double_booking(db, slack_s=10).verdict is Verdict.FAIL


def test_a_claim_that_waited_for_the_previous_release_is_not_an_overlap() -> None:
    db = (
        World()
        .hold(
            1,
            [1],
            created=100,
            claimed=100.01,
            status="RELEASED",
            released_at=103,
            released_by="consumer",
            seats_released_at=103,
        )
        .hold(2, [1], created=102, claimed=103.001)
        .db()
    )

    assert no_double_booking(db, slack_s=10).verdict is Verdict.PASS


def test_a_seat_confirmed_in_two_reservations_is_oversold() -> None:
    db = (
        World()
        .hold(1, [1, 2], created=100)
        .reservation(1, "CONFIRMED")
        .hold(2, [2], created=101)
        .reservation(2, "CONFIRMED")
        .db()
    )

    result = no_double_booking(db)

    assert result.verdict is Verdict.FAIL
    [example] = result.counterexamples
    assert example["seat_id"] == 2
    assert example["problem"] == "sold twice"
    assert example["confirmed_reservations"] == [501, 502]
    assert result.metrics["seats_sold_twice"] == 1
    assert result.metrics["tickets_sold_twice"] == 1


def test_a_sale_conflicting_with_a_hold_from_long_ago_still_counts() -> None:
    db = (
        World()
        .hold(1, [1], created=100)
        .reservation(1, "CONFIRMED")
        .hold(2, [1], created=5000, set_seats=False)
        .db()
    )

    result = no_double_booking(db)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"] == "held twice"


def test_a_double_booking_result_round_trips_through_json() -> None:
    db = World().hold(1, [1], created=100).hold(2, [1], created=101).db()
    result = no_double_booking(db)

    assert CheckResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_without_a_database_snapshot_double_booking_is_unknown() -> None:
    assert run_check(check_no_double_booking(), Evidence()).verdict is Verdict.UNKNOWN


# ---- seat counts conserved -------------------------------------------------------------


def test_seats_matching_their_holds_and_reservations_conserve_counts() -> None:
    db = (
        World(seats=5)
        .hold(1, [1])
        .hold(2, [2])
        .reservation(2, "AWAITING_PAYMENT")
        .hold(3, [3])
        .reservation(3, "CONFIRMED")
        .hold(
            4, [4], status="RELEASED", released_at=150, released_by="member", seats_released_at=150
        )
        .db()
    )

    result = seat_counts_conserved(db, capacity={1: 5})

    assert result.verdict is Verdict.PASS
    assert result.metrics["held"] == 1
    assert result.metrics["reserved"] == 1
    assert result.metrics["sold"] == 1
    assert result.metrics["available"] == 2
    assert result.metrics["live_sold_claims"] == 1


def test_fewer_seat_rows_than_the_venue_capacity_is_a_discrepancy() -> None:
    result = seat_counts_conserved(World(seats=4).db(), capacity={1: 5})

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0] == {
        "concert_id": 1,
        "problem": "seat rows differ from capacity",
        "capacity": 5,
        "seats": 4,
    }


def test_a_held_seat_without_a_live_hold_is_a_discrepancy() -> None:
    db = World().seat(2, "HELD", 9).db()

    result = seat_counts_conserved(db)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["seat_id"] == 2
    assert result.counterexamples[0]["problem"] == "held seat with no live claim"


def test_an_available_seat_under_a_live_reservation_is_a_discrepancy() -> None:
    db = World().hold(1, [1]).reservation(1, "AWAITING_PAYMENT", set_seats=False)
    db = db.seat(1, "AVAILABLE", None).db()

    result = seat_counts_conserved(db)

    assert result.verdict is Verdict.FAIL
    example = result.counterexamples[0]
    assert (example["seat_id"], example["expected"], example["reservation_id"]) == (
        1,
        "RESERVED",
        501,
    )


def test_a_hold_seat_left_unreleased_after_its_hold_ended_is_a_discrepancy() -> None:
    db = World().hold(1, [1], status="RELEASED", released_at=150, released_by="member").db()

    result = seat_counts_conserved(db)

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"].startswith("hold seat left unreleased")
    assert result.counterexamples[0]["hold_id"] == 1


def test_a_seat_pointing_at_another_hold_than_its_claim_is_a_discrepancy() -> None:
    db = World().hold(1, [1]).seat(1, "HELD", 7).db()

    result = seat_counts_conserved(db)

    assert result.counterexamples[0]["problem"] == "seat points at a different hold than its claim"


def test_a_double_booked_seat_is_left_to_the_double_booking_check() -> None:
    db = World().hold(1, [1], created=100).hold(2, [1], created=101).db()

    result = seat_counts_conserved(db)

    assert result.verdict is Verdict.PASS
    assert result.metrics["contested_seats"] == 1


def test_a_claim_of_a_missing_hold_is_a_discrepancy() -> None:
    world = World()
    world.hold_seats.append(HoldSeatRow(1, 42, 1))

    result = seat_counts_conserved(world.db())

    assert result.counterexamples[0]["problem"] == "claim of a missing hold"


def test_without_a_database_snapshot_seat_counts_are_unknown() -> None:
    assert run_check(check_seat_counts(), Evidence()).verdict is Verdict.UNKNOWN


# ---- violations after clean seats; every state a claim can be in -----------------------


def test_every_double_booking_is_found_after_clean_seats() -> None:
    world = (
        World(seats=6)
        .hold(1, [1, 2], created=100)  # clean
        .hold(2, [3], created=100)
        .hold(3, [3], created=101)  # seat 3 held twice
        .hold(4, [4], created=100)
        .hold(5, [4], created=101)
        .hold(6, [4], created=102)  # seat 4 sold three times
        .hold(7, [5], created=100)
        .hold(8, [5], created=101)  # seat 5 sold twice
    )
    for hold_id in (4, 5, 6, 7, 8):
        world.reservation(hold_id, "CONFIRMED")

    result = no_double_booking(world.db())

    assert [(c["seat_id"], c["problem"]) for c in result.counterexamples] == [
        (3, "held twice"),
        (4, "sold twice"),
        (5, "sold twice"),
    ]
    assert result.counterexamples[1] == {
        "seat_id": 4,
        "problem": "sold twice",
        "holds": [4, 5, 6],
        "reservations": [504, 505, 506],
        "confirmed_reservations": [504, 505, 506],
        "overlap_from": 102,
    }
    assert result.metrics == {
        "seats_held_twice": 1,
        "seats_sold_twice": 2,
        "tickets_sold_twice": 3,
        "slack_s": 10.0,
    }
    assert (result.name, result.summary) == ("no-double-booking", "3 seats held or sold twice")


def test_one_sale_and_one_hold_of_a_seat_is_held_twice_not_oversold() -> None:
    world = World().hold(1, [1], created=100).hold(2, [1], created=101).reservation(1, "CONFIRMED")

    result = no_double_booking(world.db())

    assert [c["problem"] for c in result.counterexamples] == ["held twice"]
    assert result.metrics["seats_sold_twice"] == 0
    assert result.metrics["seats_held_twice"] == 1


@pytest.mark.parametrize("status", ["EXPIRED", "CANCELED"])
def test_seats_of_an_ended_reservation_never_released_are_a_discrepancy(status: str) -> None:
    world = World().hold(1, [1, 2]).reservation(1, status, released_at=1000.0, set_seats=False)
    world.seat(1, "AVAILABLE", None).seat(2, "AVAILABLE", None)

    result = seat_counts_conserved(world.db())

    assert result.counterexamples == tuple(
        {
            "seat_id": seat,
            "problem": "hold seat left unreleased after its hold or reservation ended",
            "status": "AVAILABLE",
            "hold_id": 1,
            "reservation_id": 501,
        }
        for seat in (1, 2)
    )


def test_a_stale_claim_ends_when_its_reservation_did() -> None:
    world = (
        World()
        .hold(1, [1], created=100)
        .reservation(1, "EXPIRED", released_at=1000.0, set_seats=False)
        .hold(2, [1], created=1020)
    )

    assert no_double_booking(world.db()).verdict is Verdict.PASS


def test_a_stale_claim_ends_when_its_released_hold_did() -> None:
    world = (
        World()
        .hold(1, [1], created=100, status="RELEASED", released_at=200, released_by="member")
        .hold(2, [1], created=220)
    )

    assert no_double_booking(world.db()).verdict is Verdict.PASS
    assert [c["problem"] for c in seat_counts_conserved(world.db()).counterexamples] == [
        "hold seat left unreleased after its hold or reservation ended"
    ]


def test_a_converted_hold_without_a_reservation_leaves_a_stale_claim() -> None:
    world = World().hold(1, [1], status="CONVERTED", set_seats=False)

    result = seat_counts_conserved(world.db())

    assert [(c["seat_id"], c["problem"]) for c in result.counterexamples] == [
        (1, "hold seat left unreleased after its hold or reservation ended")
    ]


@pytest.mark.parametrize(
    ("seat_status", "seat_hold", "reservation", "problem"),
    [
        ("RESERVED", 1, None, "reserved seat whose claim says held"),
        ("SOLD", 1, "AWAITING_PAYMENT", "sold seat whose claim says reserved"),
        ("HELD", 1, "CONFIRMED", "held seat whose claim says sold"),
        ("AVAILABLE", None, "CONFIRMED", "available seat whose claim says sold"),
        ("SOLD", 2, "CONFIRMED", "seat points at a different hold than its claim"),
    ],
)
def test_a_seat_status_that_disagrees_with_its_claim_names_both(
    seat_status: str, seat_hold: int | None, reservation: str | None, problem: str
) -> None:
    world = World().hold(1, [1])
    if reservation:
        world.reservation(1, reservation)
    world.seat(1, seat_status, seat_hold)

    result = seat_counts_conserved(world.db())

    assert [c["problem"] for c in result.counterexamples] == [problem]
    assert (
        result.counterexamples[0]["expected"]
        == ({None: "HELD", "AWAITING_PAYMENT": "RESERVED", "CONFIRMED": "SOLD"}[reservation])
    )


def test_a_seat_with_no_live_claim_says_what_it_wrongly_is() -> None:
    db = World().seat(1, "SOLD", None).db()

    assert seat_counts_conserved(db).counterexamples == (
        {
            "seat_id": 1,
            "problem": "sold seat with no live claim",
            "status": "SOLD",
            "expected": "AVAILABLE",
            "seat_hold_id": None,
            "hold_id": None,
            "reservation_id": None,
        },
    )


def test_seat_count_metrics_count_statuses_and_live_claims() -> None:
    world = World(seats=5).hold(1, [1]).hold(2, [2]).hold(3, [3])
    world.reservation(2, "AWAITING_PAYMENT").reservation(3, "CONFIRMED")
    world.hold(4, [4], created=100).hold(5, [4], created=101)

    result = seat_counts_conserved(world.db(), {1: 5})

    assert result.metrics == {
        "seats": 5,
        "contested_seats": 1,
        "available": 1,
        "held": 2,
        "reserved": 1,
        "sold": 1,
        "live_held_claims": 1,
        "live_reserved_claims": 1,
        "live_sold_claims": 1,
    }
    assert (result.name, result.verdict, result.summary) == (
        "seat-counts-conserved",
        Verdict.PASS,
        "no seat count discrepancies",
    )


def test_dangling_rows_are_named_with_their_ids() -> None:
    world = World(seats=2)
    world.hold_seats.append(HoldSeatRow(1, 42, 1))
    world.reservations.append(ReservationRow(7, 43, 1, 1, "ord", 100, "CONFIRMED", 1.0, 2.0))
    world.hold(1, [9], set_seats=False)

    result = seat_counts_conserved(world.db(), {1: 2, 2: 0})

    assert [c for c in result.counterexamples if "seat_id" not in c or c["seat_id"] != 9] == [
        {"seat_id": 1, "problem": "claim of a missing hold", "hold_id": 42, "hold_seat_id": 1},
        {"reservation_id": 7, "problem": "reservation of a missing hold", "hold_id": 43},
    ]
    assert {"seat_id": 9, "problem": "claim of a missing seat", "holds": [1]} in (
        result.counterexamples
    )


def test_a_concert_with_more_or_fewer_seat_rows_than_its_capacity_is_named() -> None:
    result = seat_counts_conserved(World(seats=2).db(), {1: 3, 2: 0})

    assert result.counterexamples == (
        {"concert_id": 1, "problem": "seat rows differ from capacity", "capacity": 3, "seats": 2},
    )


def test_contested_seats_are_counted_and_the_seats_after_them_still_checked() -> None:
    world = (
        World(seats=4)
        .hold(1, [1], created=100)
        .hold(2, [1], created=101)
        .hold(3, [2], created=100)
        .hold(4, [2], created=101)
        .hold(5, [3])
        .hold(6, [4])
    )
    world.seat(4, "SOLD", 6)

    result = seat_counts_conserved(world.db())

    assert result.metrics["contested_seats"] == 2
    assert result.metrics["live_held_claims"] == 2
    assert result.counterexamples == (
        {
            "seat_id": 4,
            "problem": "sold seat whose claim says held",
            "status": "SOLD",
            "expected": "HELD",
            "seat_hold_id": 6,
            "hold_id": 6,
            "reservation_id": None,
        },
    )


def test_an_overlap_within_the_slack_is_not_contested_for_the_seat_counts() -> None:
    world = (
        World()
        .hold(1, [1], created=100, status="RELEASED", released_at=103, released_by="member")
        .hold(2, [1], created=101)
    )
    world.hold_seats[0] = HoldSeatRow(1, 1, 1, 1, 100, 103.0)

    result = seat_counts_conserved(world.db())

    assert (result.verdict, result.metrics["contested_seats"]) == (Verdict.PASS, 0)


def test_statuses_nobody_has_are_counted_as_zero() -> None:
    result = seat_counts_conserved(World(seats=2).hold(1, [1]).db(), {1: 2, 3: 4})

    assert result.metrics == {
        "seats": 2,
        "contested_seats": 0,
        "available": 1,
        "held": 1,
        "reserved": 0,
        "sold": 0,
        "live_held_claims": 1,
        "live_reserved_claims": 0,
        "live_sold_claims": 0,
    }
    assert result.counterexamples == (
        {"concert_id": 3, "problem": "seat rows differ from capacity", "capacity": 4, "seats": 0},
    )
