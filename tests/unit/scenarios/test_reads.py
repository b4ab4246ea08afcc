"""Stale-read accounting over a hand-made history and the primary's rows: which seats a seat
map showed free although they were taken, and which holds were then refused for them."""

from __future__ import annotations

from dataclasses import replace

from scenarios.checks.snapshot import HoldSeatRow
from scenarios.history import Fault, History, Operation, Outcome
from scenarios.load.records import build_operation, read_fields
from scenarios.reads import (
    SEATS_TAKEN,
    fault_windows,
    read_accounting,
    read_sources,
    stale_reads,
    taken_intervals,
)


def seat_map(
    user: str, start: float, end: float, source: str = "replica", status: int = 200
) -> Operation:
    return Operation(
        "seat_map",
        user,
        start,
        end,
        Outcome.OK,
        status=status,
        read_source=source,
        read_age_ms=2000,
    )


def hold(
    user: str,
    start: float,
    seats: tuple[int, ...],
    status: int = 201,
    shown: tuple[int, ...] | None = None,
) -> Operation:
    """A buyer's hold of ``seats``, all of them shown free unless ``shown`` says which."""
    refused = status == 409
    return Operation(
        "hold",
        user,
        start,
        start + 0.1,
        Outcome.FAIL if refused else Outcome.OK,
        status=status,
        problem_type=SEATS_TAKEN if refused else None,
        seat_ids=seats,
        shown_free=seats if shown is None else shown,
    )


# Seat 1 taken by hold 7 and never released; seat 2 by hold 8; seat 3 by hold 9, released
# at t=12.
HOLD_SEATS = (
    HoldSeatRow(1, 7, 1),
    HoldSeatRow(2, 8, 2),
    HoldSeatRow(3, 9, 3, released_at=12.0),
)


def granted(hold_id: int, end: float) -> Operation:
    """The answered hold request that took a hold's seats (its commit was before ``end``)."""
    return Operation("hold", "other", end - 0.1, end, Outcome.OK, status=201, hold_id=hold_id)


# Holds 7, 8 and 9 answered at the moments their seats count as taken: seat 1 at t=10, seat
# 2 at t=20.5 (during a read below), seat 3 from t=5 to t=12.
GRANTED = [granted(7, 10.0), granted(8, 20.5), granted(9, 5.0)]


def counted_for(ops: list[Operation]) -> dict:
    everything = [*GRANTED, *ops]
    return stale_reads(everything, taken_intervals(HOLD_SEATS, everything))


def test_a_seat_taken_before_the_read_and_refused_after_it_is_a_stale_read_and_its_409() -> None:
    ops = [seat_map("u1", 15.0, 15.2), hold("u1", 15.5, (1, 4), status=409)]
    counted = counted_for(ops)
    assert (counted["choices"], counted["seats_shown_free"], counted["stale_reads"]) == (1, 2, 1)
    assert counted["holds_after_stale_read"] == 1
    assert counted["holds_refused_after_stale_read"] == 1
    assert counted["read_sources"] == {"replica": 1}
    assert counted["replica_age_ms_mean"] == 2000


def test_races_during_the_read_and_seats_freed_before_it_are_not_stale() -> None:
    ops = [
        seat_map("u1", 20.0, 21.0),  # seat 2 taken while the read ran: a race
        hold("u1", 21.5, (2,), status=409),
        seat_map("u2", 13.0, 13.1, source="primary"),  # seat 3 was free again by then
        hold("u2", 13.5, (3,)),
    ]
    counted = counted_for(ops)
    assert (counted["choices"], counted["stale_reads"], counted["holds_after_stale_read"]) == (
        2,
        0,
        0,
    )
    assert counted["holds_refused_after_stale_read"] == 0
    assert counted["holds_refused_after_fresh_read"] == 1
    assert counted["read_sources"] == {"primary": 1, "replica": 1}


def test_a_hold_is_paired_with_its_own_buyers_latest_read_only() -> None:
    ops = [
        seat_map("u1", 15.0, 15.1),  # stale for seat 1, but u2 holds it
        hold("u2", 16.0, (1,), status=409),
        seat_map("u1", 1.0, 1.1),
        hold("u1", 2.0, (1,)),  # seat 1 was free at t=1
    ]
    counted = counted_for(ops)
    assert (counted["choices"], counted["stale_reads"]) == (1, 0)


def test_a_304_confirms_the_map_the_buyer_kept_and_is_the_read_judged() -> None:
    """A revalidated map (304) is as fresh as its answer: the older 200 is not the read."""
    ops = [
        seat_map("u1", 1.0, 1.1),  # seat 1 still free then
        seat_map("u1", 15.0, 15.2, status=304),  # seat 1 taken at 10: stale if still shown
        hold("u1", 15.5, (1,), status=409),
    ]
    counted = counted_for(ops)
    assert (counted["seat_map_reads"], counted["choices"], counted["stale_reads"]) == (2, 1, 1)


def test_read_headers_become_operation_fields_and_survive_the_history_file() -> None:
    fields = read_fields({"x-read-source": "replica", "x-read-age-ms": "2300"})
    assert fields == {"read_source": "replica", "read_version": None, "read_age_ms": 2300}
    op = build_operation(
        "seat_map",
        "p",
        start=1.0,
        end=2.0,
        status=200,
        headers={"x-read-source": "primary", "x-read-age-ms": "0", "x-read-version": "12"},
    )
    again = History.from_jsonl(History((op,)).to_jsonl())
    assert again.operations[0].read_source == "primary"
    assert (again.operations[0].read_version, again.operations[0].read_age_ms) == (12, 0)
    assert "read_source" not in build_operation("x", "p", start=0, end=1, status=200).to_dict()


def test_a_hold_not_yet_answered_when_the_read_began_may_not_have_committed() -> None:
    """claimed_at is stamped before the claim commits: only the answer bounds the commit."""
    late = [granted(7, 15.1)]  # answered during the read below
    ops = [seat_map("u1", 15.0, 15.2), hold("u1", 15.5, (1,), status=409)]
    everything = [*late, *ops]
    counted = stale_reads(everything, taken_intervals(HOLD_SEATS, everything))
    assert (counted["stale_reads"], counted["holds_refused_after_fresh_read"]) == (0, 1)


def test_seats_a_buyer_took_to_make_up_the_number_are_not_stale_reads() -> None:
    """The map showed seat 1 taken: choosing it anyway says nothing about staleness."""
    filler = hold("u1", 15.5, (1, 4), status=409, shown=(4,))
    counted = counted_for([seat_map("u1", 15.0, 15.2), filler])
    assert (counted["stale_reads"], counted["holds_refused_after_fresh_read"]) == (0, 1)
    again = History.from_jsonl(History((filler,)).to_jsonl()).operations[0]
    assert again.shown_free == (4,)
    nothing_free = replace(filler, shown_free=())
    counted = counted_for([seat_map("u1", 15.0, 15.2), nothing_free])
    assert (counted["choices"], counted["seats_shown_free"]) == (0, 0)


def test_stale_reads_are_also_counted_per_fault_window_and_outside_them() -> None:
    windows = fault_windows(
        [Fault("replication-link-delay", 14.0, 16.0, params={"latency_ms": 2000})]
    )
    assert windows == [("replication-link-delay latency_ms=2000", 14.0, 16.0)]
    ops = [
        *GRANTED,
        seat_map("u1", 15.0, 15.2),
        hold("u1", 15.5, (1,), status=409),  # stale, inside the window
        seat_map("u2", 1.0, 1.1, source="primary"),
        hold("u2", 2.0, (1,)),  # fresh, outside
    ]
    counted = stale_reads(ops, taken_intervals(HOLD_SEATS, ops), windows)
    inside = counted["by_window"]["replication-link-delay latency_ms=2000"]
    outside = counted["by_window"]["no fault"]
    assert (inside["choices"], inside["stale_reads"]) == (1, 1)
    assert inside["holds_refused_after_stale_read"] == 1
    assert (outside["choices"], outside["stale_reads"], outside["read_sources"]) == (
        1,
        0,
        {"primary": 1},
    )
    assert counted["choices"] == 2


def test_the_summary_judges_measured_reads_by_seats_every_hold_took() -> None:
    """A hold answered in the warm-up took its seats: a measured read showing them is stale."""
    measured = [seat_map("u1", 15.0, 15.2), hold("u1", 15.5, (1,), status=409)]
    found = read_accounting(measured, [*GRANTED, *measured], HOLD_SEATS)
    assert (found["stale_reads"], found["holds_refused_after_stale_read"]) == (1, 1)
    assert found["sources"]["seat_map"]["by_source"] == {"replica": 1}
    assert "by_window" not in found


def test_read_sources_count_answers_304s_and_ages() -> None:
    ops = [
        replace(seat_map("u", t, t + 0.1, source="cache"), read_age_ms=a)
        for t, a in ((1.0, 10), (2.0, 50), (3.0, 90))
    ]
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
