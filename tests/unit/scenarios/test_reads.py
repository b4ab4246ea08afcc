"""Stale-read accounting on hand-built histories: which seats a seat map showed free
although they were taken, and which holds were then refused for them."""

from __future__ import annotations

from scenarios.checks.snapshot import HoldRow, HoldSeatRow
from scenarios.history import Operation, Outcome
from scenarios.load.records import build_operation
from scenarios.reads import SEATS_TAKEN, read_accounting, read_sources


def seat_map(process: str, start: float, end: float, age: int = 0) -> Operation:
    return Operation(
        "seat_map",
        process,
        start,
        end,
        Outcome.OK,
        status=200,
        read_source="cache",
        read_version=7,
        read_age_ms=age,
    )


def hold(
    process: str, start: float, seats: tuple[int, ...], shown: tuple[int, ...], refused: bool
) -> Operation:
    return Operation(
        "hold",
        process,
        start,
        start + 0.1,
        Outcome.FAIL if refused else Outcome.OK,
        status=409 if refused else 201,
        problem_type=SEATS_TAKEN if refused else None,
        seat_ids=seats,
        shown_free=shown,
    )


def held(hold_id: int, claimed_at: float) -> HoldRow:
    return HoldRow(
        hold_id, 1, 1, "ACTIVE", 100, claimed_at, claimed_at + 600, claimed_at=claimed_at
    )


HOLDS = [held(1, 5.0), held(2, 10.5), held(3, 1.0)]
HOLD_SEATS = [
    HoldSeatRow(1, 1, seat_id=100),  # taken at 5, still taken
    HoldSeatRow(2, 2, seat_id=200),  # taken at 10.5: during the map's request, not before
    HoldSeatRow(3, 3, seat_id=300, released_at=4.0),  # taken at 1, free again at 4
]


def test_a_seat_taken_before_the_map_was_asked_for_is_a_stale_read_and_its_409_counts() -> None:
    ops = [
        seat_map("u1", 10.0, 11.0),
        hold("u1", 12.0, (100, 101), (100, 101), refused=True),
    ]
    found = read_accounting(ops, HOLDS, HOLD_SEATS)
    assert found["seats_shown_free"] == 2
    assert found["stale_reads"] == 1
    assert found["holds_after_stale_read"] == 1
    assert found["holds_refused_after_stale_read"] == 1


def test_races_during_the_read_and_seats_freed_before_it_are_not_stale() -> None:
    ops = [
        seat_map("u2", 10.0, 11.0),
        hold("u2", 12.0, (200, 300), (200, 300), refused=True),
    ]
    found = read_accounting(ops, HOLDS, HOLD_SEATS)
    assert found["stale_reads"] == 0
    assert found["holds_refused_after_stale_read"] == 0


def test_each_hold_is_judged_by_its_own_buyers_last_seat_map() -> None:
    ops = [
        seat_map("u3", 1.0, 2.0),  # before seat 100 was taken
        seat_map("u4", 20.0, 21.0),  # after
        hold("u3", 22.0, (100,), (100,), refused=True),
        seat_map("u3", 30.0, 31.0),  # u3's later map: the hold above is not judged by it
        hold("u4", 23.0, (100,), (100,), refused=False),  # a naive grant still read stale
    ]
    found = read_accounting(ops, HOLDS, HOLD_SEATS)
    assert found["stale_reads"] == 1
    assert found["holds_after_stale_read"] == 1
    assert found["holds_refused_after_stale_read"] == 0


def test_seats_picked_though_shown_taken_are_not_reads_at_all() -> None:
    ops = [seat_map("u5", 10.0, 11.0), hold("u5", 12.0, (100,), (), refused=True)]
    found = read_accounting(ops, HOLDS, HOLD_SEATS)
    assert (found["seats_shown_free"], found["stale_reads"]) == (0, 0)


def test_read_sources_count_answers_304s_and_ages() -> None:
    ops = [seat_map("u", t, t + 0.1, age=a) for t, a in ((1.0, 10), (2.0, 50), (3.0, 90))]
    ops.append(
        build_operation(
            "seat_map",
            "u",
            start=4.0,
            end=4.1,
            status=304,
            headers={"x-read-source": "replica", "x-read-version": "9", "x-read-age-ms": "400"},
        )
    )
    sources = read_sources(ops)["seat_map"]
    assert sources["answered"] == 4
    assert sources["by_source"] == {"cache": 3, "replica": 1}
    assert sources["not_modified"] == 1
    assert (sources["age_ms_p50"], sources["age_ms_p95"], sources["age_ms_max"]) == (50, 400, 400)
    assert ops[-1].read_version == 9
    assert Operation.from_dict(ops[-1].to_dict()) == ops[-1]
