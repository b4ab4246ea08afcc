"""Stale-read accounting over a hand-made history and the primary's rows."""

from __future__ import annotations

from dataclasses import replace

from scenarios.checks.snapshot import DbState, HoldRow, HoldSeatRow
from scenarios.history import Fault, History, Operation, Outcome
from scenarios.load.records import build_operation, read_fields
from scenarios.stale_reads import SEATS_TAKEN, fault_windows, stale_reads, taken_intervals


def seat_map(user: str, start: float, end: float, source: str = "replica") -> Operation:
    return Operation(
        "seat_map", user, start, end, Outcome.OK, status=200, read_source=source, read_age_ms=2000
    )


def hold(user: str, start: float, seats: tuple[int, ...], status: int = 201) -> Operation:
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
    )


# Seat 1 taken at t=10 by hold 7 and never released; seat 2 taken at t=20.5 (during a read),
# seat 3 taken from t=5 to t=12.
DB = DbState(
    checked_at=100.0,
    holds=(
        HoldRow(7, 1, 1, "ACTIVE", 1, created_at=9.0, expires_at=99.0, claimed_at=10.0),
        HoldRow(8, 1, 2, "ACTIVE", 1, created_at=20.5, expires_at=99.0, claimed_at=20.5),
        HoldRow(9, 1, 3, "RELEASED", 1, created_at=5.0, expires_at=12.0, claimed_at=5.0),
    ),
    hold_seats=(
        HoldSeatRow(1, 7, 1),
        HoldSeatRow(2, 8, 2),
        HoldSeatRow(3, 9, 3, released_at=12.0),
    ),
)


def granted(hold_id: int, end: float) -> Operation:
    """The answered hold request that took a hold's seats (its commit was before ``end``)."""
    return Operation("hold", "other", end - 0.1, end, Outcome.OK, status=201, hold_id=hold_id)


# Holds 7, 8 and 9 answered at the moments their seats count as taken.
GRANTED = [granted(7, 10.0), granted(8, 20.5), granted(9, 5.0)]


def counted_for(ops: list[Operation]) -> dict:
    everything = [*GRANTED, *ops]
    return stale_reads(everything, taken_intervals(DB, everything))


def test_a_seat_taken_before_the_read_and_refused_after_it_is_a_stale_read_and_its_409() -> None:
    ops = [seat_map("u1", 15.0, 15.2), hold("u1", 15.5, (1,), status=409)]
    counted = counted_for(ops)
    assert (counted["choices"], counted["stale"], counted["taken_409_after_stale"]) == (1, 1, 1)
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
    assert (counted["choices"], counted["stale"]) == (2, 0)
    assert (counted["taken_409_after_stale"], counted["taken_409_after_fresh"]) == (0, 1)
    assert counted["read_sources"] == {"primary": 1, "replica": 1}


def test_a_hold_is_paired_with_its_own_buyers_latest_read_only() -> None:
    ops = [
        seat_map("u1", 15.0, 15.1),  # stale for seat 1, but u2 holds it
        hold("u2", 16.0, (1,), status=409),
        seat_map("u1", 1.0, 1.1),
        hold("u1", 2.0, (1,)),  # seat 1 was free at t=1
    ]
    counted = counted_for(ops)
    assert (counted["choices"], counted["stale"]) == (1, 0)


def test_read_headers_become_operation_fields_and_survive_the_history_file() -> None:
    fields = read_fields({"x-read-source": "replica", "x-read-age-ms": "2300"})
    assert fields == {"read_source": "replica", "read_age_ms": 2300}
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
    late = [granted(7, 15.1)]  # claimed at 10, answered during the read below
    ops = [seat_map("u1", 15.0, 15.2), hold("u1", 15.5, (1,), status=409)]
    everything = [*late, *ops]
    counted = stale_reads(everything, taken_intervals(DB, everything))
    assert (counted["stale"], counted["taken_409_after_fresh"]) == (0, 1)


def test_seats_a_buyer_took_to_make_up_the_number_are_not_stale_reads() -> None:
    """The map showed seat 1 taken: choosing it anyway says nothing about staleness."""
    filler = replace(hold("u1", 15.5, (1, 4), status=409), shown_free=(4,))
    counted = counted_for([seat_map("u1", 15.0, 15.2), filler])
    assert (counted["stale"], counted["taken_409_after_fresh"]) == (0, 1)
    again = History.from_jsonl(History((filler,)).to_jsonl()).operations[0]
    assert again.shown_free == (4,)


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
    counted = stale_reads(ops, taken_intervals(DB, ops), windows)
    inside = counted["by_window"]["replication-link-delay latency_ms=2000"]
    outside = counted["by_window"]["no fault"]
    assert (inside["choices"], inside["stale"], inside["taken_409_after_stale"]) == (1, 1, 1)
    assert (outside["choices"], outside["stale"], outside["read_sources"]) == (1, 0, {"primary": 1})
    assert counted["choices"] == 2
