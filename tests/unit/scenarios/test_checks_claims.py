"""Seat claims as intervals: where each kind of row starts and ends, and which overlap."""

from __future__ import annotations

import pytest

from scenarios.checks.claims import (
    PRECISE_SLACK_S,
    Claim,
    claim_of,
    claims_of,
    overlapping,
)
from scenarios.checks.snapshot import DbState, HoldRow, HoldSeatRow, ReservationRow


def hold(
    status: str = "ACTIVE", released_at: float | None = None, claimed: float | None = None
) -> HoldRow:
    return HoldRow(7, 1, 1, status, 100, 100.0, 1000.0, released_at, None, claimed)


def row(released_at: float | None = None, seat_id: int = 1) -> HoldSeatRow:
    return HoldSeatRow(3, 7, seat_id, 1, 100, released_at)


def reservation(status: str, released_at: float | None = None) -> ReservationRow:
    return ReservationRow(9, 7, 1, 1, "ord", 100, status, 150.0, 1000.0, None, released_at)


@pytest.mark.parametrize(
    ("the_hold", "the_row", "the_reservation", "claim"),
    [
        (hold(), row(), None, Claim(1, 7, 100.0, None, "HELD")),
        (hold(), row(500.0), None, Claim(1, 7, 100.0, 500.0, "", None, True)),
        (hold("RELEASED", 400.0), row(), None, Claim(1, 7, 100.0, 400.0, "STALE")),
        (hold("CONVERTED"), row(), None, Claim(1, 7, 100.0, None, "STALE")),
        (
            hold("CONVERTED"),
            row(),
            reservation("AWAITING_PAYMENT"),
            Claim(1, 7, 100.0, None, "RESERVED", 9),
        ),
        (hold("CONVERTED"), row(), reservation("CONFIRMED"), Claim(1, 7, 100.0, None, "SOLD", 9)),
        (
            hold("CONVERTED"),
            row(600.0),
            reservation("CONFIRMED"),
            Claim(1, 7, 100.0, None, "SOLD", 9),
        ),
        (
            hold("CONVERTED"),
            row(),
            reservation("EXPIRED", 1001.0),
            Claim(1, 7, 100.0, 1001.0, "STALE", 9),
        ),
        (
            hold("CONVERTED"),
            row(),
            reservation("CANCELED", 300.0),
            Claim(1, 7, 100.0, 300.0, "STALE", 9),
        ),
        (
            hold("CONVERTED"),
            row(1001.0),
            reservation("EXPIRED", 1001.0),
            Claim(1, 7, 100.0, 1001.0, "", 9, True),
        ),
        (hold(claimed=102.5), row(), None, Claim(1, 7, 102.5, None, "HELD", None, False, True)),
    ],
)
def test_each_state_of_a_hold_and_its_reservation_makes_its_claim(
    the_hold: HoldRow,
    the_row: HoldSeatRow,
    the_reservation: ReservationRow | None,
    claim: Claim,
) -> None:
    assert claim_of(the_row, the_hold, the_reservation) == claim


def test_an_unreleased_row_of_an_ended_reservation_is_live_and_stale() -> None:
    for status in ("EXPIRED", "CANCELED"):
        claim = claim_of(row(), hold("CONVERTED"), reservation(status, 300.0))
        assert (claim.live, claim.state) == (True, "STALE")


def test_claims_are_grouped_by_seat_in_start_order_and_orphans_set_apart() -> None:
    db = DbState(
        1.0,
        holds=(
            HoldRow(2, 1, 1, "ACTIVE", 1, 50.0, 900.0),
            HoldRow(1, 1, 1, "ACTIVE", 1, 50.0, 900.0),
            HoldRow(3, 1, 1, "ACTIVE", 1, 10.0, 900.0),
        ),
        hold_seats=(
            HoldSeatRow(1, 99, 5),  # orphan first: the rows after it still count
            HoldSeatRow(2, 2, 5),
            HoldSeatRow(3, 1, 5),
            HoldSeatRow(4, 3, 6),
            HoldSeatRow(5, 98, 6),
        ),
    )

    claims = claims_of(db)

    assert {seat: [c.hold_id for c in cs] for seat, cs in claims.by_seat.items()} == {
        5: [1, 2],
        6: [3],
    }
    assert [r.id for r in claims.orphan_hold_seats] == [1, 5]


def claim(hold_id: int, start: float, end: float | None, precise: bool = False) -> Claim:
    return Claim(1, hold_id, start, end, "HELD", precise=precise)


def test_every_claim_in_an_overlap_is_named_in_start_order() -> None:
    claims = [claim(3, 0.0, 100.0), claim(1, 50.0, None), claim(2, 200.0, 300.0)]

    assert [c.hold_id for c in overlapping(claims, 10.0)] == [3, 1, 2]


def test_an_overlap_of_exactly_the_slack_is_clock_noise() -> None:
    assert overlapping([claim(1, 0.0, 10.0), claim(2, 0.0, None)], 10.0) == []
    assert len(overlapping([claim(1, 0.0, 10.001), claim(2, 0.0, None)], 10.0)) == 2


def test_a_claim_ended_before_the_next_began_does_not_overlap_it_whichever_comes_first() -> None:
    early, late = claim(1, 0.0, 5.0), claim(2, 20.0, None)

    assert not early.overlaps(late, 0.0)
    assert not late.overlaps(early, 0.0)
    assert Claim(1, 2, 0.0, None, "HELD").overlaps(Claim(1, 3, 0.5, 1.0, "HELD"))


def test_the_precise_slack_applies_only_when_both_claims_are_precise() -> None:
    three_seconds = [claim(1, 0.0, 3.0, precise=True), claim(2, 0.0, None, precise=True)]
    one_precise = [claim(1, 0.0, 3.0, precise=True), claim(2, 0.0, None)]

    assert PRECISE_SLACK_S < 3.0
    assert len(overlapping(three_seconds, 10.0)) == 2
    assert overlapping(one_precise, 10.0) == []


def test_a_claim_overlapped_only_by_an_earlier_one_is_still_named() -> None:
    first, short, last = claim(1, 0.0, None), claim(2, 10.0, 15.0), claim(3, 20.0, None)

    assert overlapping([first, short, last], 1.0) == [first, short, last]


def test_without_a_slack_any_overlap_counts() -> None:
    assert len(overlapping([claim(1, 0.0, 0.5), claim(2, 0.0, None)])) == 2
