"""Reads and their freshness: where the buyers' reads came from, how old, and which were stale.

The service says where each read came from and how old it may be (``X-Read-Source``,
``X-Read-Version``, ``X-Read-Age-Ms``, recorded per operation as ``read_source``,
``read_version``, ``read_age_ms``); this is the other side: what that age cost.

A buyer reads a zone's seat map, picks seats, and tries to hold them. The hold records the
seats of it that the map showed free (``shown_free``: a buyer short of free seats fills up
with taken ones, and those say nothing about the map). Such a seat was a **stale read** when
it was already taken on the primary for the whole time the map's request was in flight:
the hold that took it had its answer (so its commit was done) before the map was asked
for, and it was not released (``hold_seats.released_at``) before the map's answer came.
``claimed_at`` is no use here: it is stamped inside the claim's transaction, before its
commit, and a read in between rightly sees the seat free (under the ``primary`` policy it
miscounted 14 of 381 reads as stale). A seat taken or freed *while* the read ran is a race
any source loses sometimes, not staleness, so it is left out: with every read on the
primary this counts nothing. Holds no answer was seen for are left out too.

The map a hold's seats came from is the same buyer's (``process``) latest answered seat map
(a 200, or a 304 that confirmed the map the buyer kept) that ended before the hold was
sent. Each such (map, hold) pair is a *choice*; the summary counts the seats shown free, the
stale ones, the choices with a stale seat, and the holds refused as taken (409) after a
stale read and after a fresh one; per fault window too (by when the map was asked for).

Pure functions of the history and the database rows: tested on hand-built histories.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scenarios.checks.snapshot import DbState, HoldSeatRow
from scenarios.history import History, Operation, Outcome

READ_OPERATIONS = ("browse", "zones", "seat_map")
SEATS_TAKEN = "https://ticketlab.dev/problems/seats-taken"
NO_FAULT = "no fault"

Window = tuple[str, float, float]  # (label, start, end)


@dataclass(frozen=True)
class Taken:
    """One seat taken by one hold: from ``since`` until ``until`` (None: still taken)."""

    since: float
    until: float | None

    def throughout(self, start: float, end: float) -> bool:
        return self.since <= start and (self.until is None or self.until >= end)


def taken_intervals(
    hold_seats: Iterable[HoldSeatRow], operations: Iterable[Operation]
) -> dict[int, list[Taken]]:
    """Every seat's taken intervals on the primary, by seat id, from the end of the hold
    request that answered with it (see the module's docstring)."""
    answered = {
        op.hold_id: op.end for op in operations if op.name == "hold" and op.hold_id is not None
    }
    intervals: dict[int, list[Taken]] = defaultdict(list)
    for row in hold_seats:
        since = answered.get(row.hold_id)
        if since is not None:
            intervals[row.seat_id].append(Taken(since, row.released_at))
    return intervals


def choices(operations: Iterable[Operation]) -> list[tuple[Operation, Operation]]:
    """(seat-map read, hold) pairs: each hold with seats shown free, and its buyer's latest
    answered seat map before it."""
    last_read: dict[str, Operation] = {}
    pairs = []
    for op in sorted(operations, key=lambda o: o.start):
        if op.name == "seat_map" and op.outcome is Outcome.OK:
            last_read[op.process] = op
        elif op.name == "hold" and op.shown_free and op.process in last_read:
            read = last_read[op.process]
            if read.end <= op.start:
                pairs.append((read, op))
    return pairs


@dataclass(frozen=True)
class Judged:
    """One choice and the seats it was shown free that were already taken."""

    read: Operation
    hold: Operation
    stale_seats: tuple[int, ...]


def judge(operations: Sequence[Operation], taken: Mapping[int, Sequence[Taken]]) -> list[Judged]:
    judged = []
    for read, hold in choices(operations):
        stale = tuple(
            seat
            for seat in hold.shown_free
            if any(t.throughout(read.start, read.end) for t in taken.get(seat, ()))
        )
        judged.append(Judged(read, hold, stale))
    return judged


def refused_as_taken(hold: Operation) -> bool:
    return hold.status == 409 and hold.problem_type == SEATS_TAKEN


def section(reads: Sequence[Operation], judged: Sequence[Judged]) -> dict[str, Any]:
    """Counts over some seat-map reads and the choices made from them."""
    sources = Counter(op.read_source or "unsaid" for op in reads)
    ages = [op.read_age_ms for op in reads if op.read_source == "replica" and op.read_age_ms]
    after_stale = [j for j in judged if j.stale_seats]
    refused = [j for j in judged if refused_as_taken(j.hold)]
    refused_after_stale = sum(1 for j in refused if j.stale_seats)
    return {
        "seat_map_reads": len(reads),
        "read_sources": dict(sorted(sources.items())),
        "replica_age_ms_mean": round(sum(ages) / len(ages), 1) if ages else None,
        "replica_age_ms_max": max(ages) if ages else None,
        "choices": len(judged),
        "seats_shown_free": sum(len(j.hold.shown_free) for j in judged),
        "stale_reads": sum(len(j.stale_seats) for j in judged),
        "holds_after_stale_read": len(after_stale),
        "stale_share": round(len(after_stale) / len(judged), 4) if judged else None,
        "holds_refused_after_stale_read": refused_after_stale,
        "holds_refused_after_fresh_read": len(refused) - refused_after_stale,
    }


def stale_reads(
    operations: Sequence[Operation],
    taken: Mapping[int, Sequence[Taken]],
    windows: Sequence[Window] = (),
) -> dict[str, Any]:
    """The stale-read counts over ``operations``; with fault ``windows``, the same per
    window (by when the map was asked for) and outside them all (``by_window``)."""
    reads = [op for op in operations if op.name == "seat_map" and op.outcome is Outcome.OK]
    judged = judge(operations, taken)
    summary = section(reads, judged)
    if windows:

        def inside(t: float) -> bool:
            return any(start <= t <= end for _, start, end in windows)

        by_window = {
            label: section(
                [r for r in reads if start <= r.start <= end],
                [j for j in judged if start <= j.read.start <= end],
            )
            for label, start, end in windows
        }
        by_window[NO_FAULT] = section(
            [r for r in reads if not inside(r.start)],
            [j for j in judged if not inside(j.read.start)],
        )
        summary["by_window"] = by_window
    return summary


def fault_windows(faults: Iterable[Any]) -> list[Window]:
    """History fault records as labelled windows (``kind key=value …``)."""
    windows = []
    for fault in faults:
        params = " ".join(f"{k}={v}" for k, v in sorted(fault.params.items()))
        label = f"{fault.kind} {params}".strip()
        windows.append((label, fault.start, fault.end if fault.end is not None else fault.start))
    return windows


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
    measured: Sequence[Operation],
    every: Sequence[Operation],
    hold_seats: Iterable[HoldSeatRow],
    windows: Sequence[Window] = (),
) -> dict[str, Any]:
    """The ``reads`` section of a variant's summary: stale reads over the ``measured``
    operations (per fault window too), with seats taken by ``every`` hold of the run
    (one answered in the warm-up still took its seats), and the answers by source."""
    return {
        **stale_reads(measured, taken_intervals(hold_seats, every), windows),
        "sources": read_sources(measured),
    }


def reads_summary(history: History, warmup_end: float, db: DbState | None) -> dict[str, Any]:
    """``read_accounting`` of a variant's history over the operations scheduled after
    warm-up, against the database snapshot ``db`` (``None``: sources only). An accounting
    that fails says why in the summary instead of failing the run."""
    every = history.operations
    ops = [op for op in every if op.scheduled_at >= warmup_end]
    try:
        if db is None:
            return {"sources": read_sources(ops), "stale_reads": None}
        return read_accounting(ops, every, db.hold_seats, fault_windows(history.faults))
    except Exception as exc:  # an accounting, not a verdict: never fails the run
        return {"error": f"{type(exc).__name__}: {exc}"}
