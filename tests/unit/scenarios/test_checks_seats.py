"""No seat held or sold twice; seat counts that add up."""

from __future__ import annotations

import json

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
