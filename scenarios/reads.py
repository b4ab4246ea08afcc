"""Reads and their freshness: where the buyers' reads came from, how old, and which were stale.

A *stale read* is a seat that a buyer's seat map showed available although it was already
taken when the map was served. The service says how old each read may be
(``X-Read-Age-Ms``); this is the other side: what that age cost. For every hold the
history records the seats its buyer's last seat map showed free (``shown_free``); the
database says when each seat was taken (its hold's ``claimed_at``, else ``created_at``)
and given back (``hold_seats.released_at``). A seat counts as stale only when it was
taken for the whole of the map's request (from before it was sent until after its answer
came), so the count never blames a read for a race it could not have seen. The 409s that
followed are the holds refused as "seats taken" that asked for a stale seat.

Pure functions of the history and the database rows: tested on hand-built histories.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scenarios.checks.snapshot import HoldRow, HoldSeatRow
from scenarios.history import Operation, Outcome

READ_OPERATIONS = ("browse", "zones", "seat_map")
SEATS_TAKEN = "https://ticketlab.dev/problems/seats-taken"


@dataclass(frozen=True)
class Taken:
    """A seat was someone's from ``start`` until ``end`` (None: still is)."""

    start: float
    end: float | None

    def throughout(self, begin: float, finish: float) -> bool:
        return self.start <= begin and (self.end is None or self.end >= finish)


def taken_intervals(
    holds: Iterable[HoldRow], hold_seats: Iterable[HoldSeatRow]
) -> dict[int, list[Taken]]:
    """Per seat, when it was held (or reserved, or sold) by some hold."""
    claimed = {h.id: h.claimed_at if h.claimed_at is not None else h.created_at for h in holds}
    out: dict[int, list[Taken]] = defaultdict(list)
    for row in hold_seats:
        start = claimed.get(row.hold_id)
        if start is not None:
            out[row.seat_id].append(Taken(start, row.released_at))
    return out


def _last_seat_maps(ops: Sequence[Operation]) -> dict[int, Operation]:
    """For each hold (by position in ``ops``), its buyer's last answered seat map before it."""
    last: dict[str, Operation] = {}
    out: dict[int, Operation] = {}
    for index, op in sorted(enumerate(ops), key=lambda pair: pair[1].start):
        if op.name == "seat_map" and op.outcome is Outcome.OK:
            last[op.process] = op
        elif op.name == "hold" and op.process in last and last[op.process].end <= op.start:
            out[index] = last[op.process]
    return out


def stale_reads(ops: Sequence[Operation], taken: dict[int, list[Taken]]) -> dict[str, int]:
    """Stale seats among the seats holds were asked for, and the 409s that followed."""
    shown = stale = stale_holds = refused_after = 0
    maps = _last_seat_maps(ops)
    for index, op in enumerate(ops):
        if op.name != "hold" or not op.shown_free or index not in maps:
            continue
        seat_map = maps[index]
        shown += len(op.shown_free)
        found = [
            seat
            for seat in op.shown_free
            if any(t.throughout(seat_map.start, seat_map.end) for t in taken.get(seat, ()))
        ]
        if not found:
            continue
        stale += len(found)
        stale_holds += 1
        if op.status == 409 and op.problem_type == SEATS_TAKEN:
            refused_after += 1
    return {
        "seats_shown_free": shown,
        "stale_reads": stale,
        "holds_after_stale_read": stale_holds,
        "holds_refused_after_stale_read": refused_after,
    }


def nearest_rank(values: Sequence[int], p: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def read_sources(ops: Sequence[Operation]) -> dict[str, Any]:
    """Per read operation: answers by source, 304s, and the age of what was served."""
    out: dict[str, Any] = {}
    for name in READ_OPERATIONS:
        answered = [op for op in ops if op.name == name and op.outcome is Outcome.OK]
        if not answered:
            continue
        ages = [op.read_age_ms for op in answered if op.read_age_ms is not None]
        out[name] = {
            "answered": len(answered),
            "by_source": dict(Counter(op.read_source or "unsaid" for op in answered)),
            "not_modified": sum(1 for op in answered if op.status == 304),
            "age_ms_p50": nearest_rank(ages, 50),
            "age_ms_p95": nearest_rank(ages, 95),
            "age_ms_max": max(ages) if ages else None,
        }
    return out


def read_accounting(
    ops: Sequence[Operation], holds: Iterable[HoldRow], hold_seats: Iterable[HoldSeatRow]
) -> dict[str, Any]:
    """The ``reads`` section of a variant's summary."""
    return {
        **stale_reads(ops, taken_intervals(holds, hold_seats)),
        "sources": read_sources(ops),
    }
